// The Deno relay as a child process (`deno run src/runtimes/deno/index.ts`), for the Deno suite; with
// RELAY_STORE=kv in `env` it runs on the Deno KV store, as on Deno Deploy.
import type { ConfigInput } from '../../src/config.ts';
import { STARTED } from '../helpers/webhook.ts';

/** `deno run` of the relay, as `deno task start` runs it. */
export const RUN_ARGS = [
  'run',
  '--allow-net',
  '--allow-env',
  '--allow-read',
  '--allow-write',
  '--unstable-kv',
  'src/runtimes/deno/index.ts',
];

export interface DenoRelay {
  url: string;
  output(): string;
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

export async function spawnDenoRelay(
  config: ConfigInput,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<DenoRelay> {
  Deno.writeTextFileSync(`${dataDir}/relay.config.json`, JSON.stringify(config));
  const child = new Deno.Command(Deno.execPath(), {
    args: RUN_ARGS,
    env: {
      RELAY_CONFIG: `${dataDir}/relay.config.json`,
      RELAY_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    },
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  let output = '';
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk);
  };
  void drain(child.stdout);
  void drain(child.stderr);
  const deadline = Date.now() + 30_000;
  let port: number | undefined;
  while (port === undefined) {
    if (Date.now() > deadline) throw new Error(`deno relay did not start:\n${output}`);
    port = Number(STARTED.exec(output)?.[1]) || undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async kill(signal: Deno.Signal = 'SIGKILL') {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      return child.status;
    },
  };
}

/** The reverse proxy of test/helpers/proxy-server.ts in front of `upstream`, run by node as it is under vitest. */
export async function spawnProxy(upstream: string): Promise<{ url: string; stop(): void }> {
  const child = new Deno.Command('node', {
    args: ['--import', 'tsx', 'test/helpers/proxy-server.ts', upstream],
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let output = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the proxy exited: ${output}`);
    output += decoder.decode(value);
    const port = /"port":(\d+)/.exec(output)?.[1];
    if (port) {
      reader.releaseLock();
      void child.stdout.cancel();
      return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
    }
  }
}
