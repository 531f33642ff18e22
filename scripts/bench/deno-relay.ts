// The relay on Deno as `deno task start` runs it, for the bench and the profile: the command line
// of deno.json's start task (the binary from the deno npm package), so that the two cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The start task's command, `runFlags` after its `run` (V8 flags for a profiler); Deno keeps its cache under HOME. */
export function denoRelayCommand(runFlags: string[] = []): {
  command: string;
  args: string[];
  env: Record<string, string>;
} {
  const task = (JSON.parse(readFileSync(join(ROOT, 'deno.json'), 'utf8')) as { tasks: { start: string } }).tasks.start;
  const [binary, run, ...rest] = task.split(' ');
  return {
    command: join(ROOT, binary!),
    args: [run!, ...runFlags, ...rest],
    env: process.env.HOME ? { HOME: process.env.HOME } : {},
  };
}
