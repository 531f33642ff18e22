// The relay as a child process running what `npm start` runs (the bundle in dist/, built by
// test/global-setup.ts, or by `npm run proof` before it starts), for tests that kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config.ts';
import { STARTED } from './webhook.ts';

export interface RelayProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Writes the config into `dataDir` and starts `dist/node.js` on a free port. */
export async function spawnRelay(
  config: ConfigInput,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<RelayProcess> {
  const configFile = join(dataDir, 'relay.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, ['dist/node.js'], {
    env: {
      PATH: process.env.PATH,
      RELAY_CONFIG: configFile,
      RELAY_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${output}`)), 20_000);
    const look = () => {
      const started = STARTED.exec(output);
      if (started) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(Number(started[1]));
      }
    };
    child.stdout!.on('data', look);
    void exited.then(() => reject(new Error(`relay exited:\n${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
}
