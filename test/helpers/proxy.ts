// Starts test/helpers/proxy-server.ts as a child process in front of `upstream`.
import { spawn } from 'node:child_process';

export interface Proxy {
  url: string;
  stop(): void;
}

/** A proxy in front of `upstream`, or a round-robin balancer (headers untouched) in front of several. */
export async function startProxy(upstream: string | string[], options: { balancer?: boolean } = {}): Promise<Proxy> {
  const args = ['--import', 'tsx', 'test/helpers/proxy-server.ts', [upstream].flat().join(',')];
  const child = spawn(process.execPath, options.balancer ? [...args, '--balancer'] : args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the proxy did not start: ${output}`)), 15_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /"port":(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error(`the proxy exited: ${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') };
}
