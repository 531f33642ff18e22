// The relay on workerd, as `wrangler dev` runs it: a child process on a free loopback port, with
// the config in RELAY_CONFIG and state kept in a folder of the test's, so it survives a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigInput } from '../../src/config.ts';
import { freePort } from './net.ts';

export interface WorkersRelay {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Ends wrangler and workerd at once (SIGKILL to the whole process group). */
  kill(): Promise<void>;
}

/** Starts `wrangler dev`; waits until /healthz answers 200 (or, with expectHealthy false, answers at all). */
export async function startWorkersRelay(
  config: ConfigInput,
  persistTo: string,
  vars: Record<string, string> = {},
  /** config: another wrangler config, for a test's own Worker (it must answer GET /healthz). */
  options: { expectHealthy?: boolean; mediaBucket?: boolean; config?: string } = {},
): Promise<WorkersRelay> {
  const [port, inspector] = [await freePort(), await freePort()];
  const args = [
    'wrangler',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--persist-to',
    persistTo,
    '--show-interactive-dev-session=false',
    // GET /__scheduled runs the Cron Trigger (reconciliation's start), as the edge would.
    '--test-scheduled',
  ];
  if (options.config) args.push('--config', options.config);
  else if (options.mediaBucket) {
    // wrangler.toml with an R2 bucket bound as MEDIA (the media archive), beside the state.
    const toml = readFileSync('wrangler.toml', 'utf8').replace(
      /^main = "(.*)"$/m,
      (_, main: string) => `main = ${JSON.stringify(resolve(main))}`,
    );
    const file = join(persistTo, 'wrangler.media.toml');
    writeFileSync(file, `${toml}\n[[r2_buckets]]\nbinding = "MEDIA"\nbucket_name = "green-relay-media"\n`);
    args.push('--config', file);
  }
  for (const [name, value] of Object.entries({ ...vars, RELAY_CONFIG: JSON.stringify(config) }))
    args.push('--var', `${name}:${value}`);
  const child = spawn('npx', args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok || options.expectHealthy === false) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    url,
    child,
    output: () => output,
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}
