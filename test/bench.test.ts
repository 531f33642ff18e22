// `npm run bench -- --quick`, end to end and memory parts: the harness runs against the built relay
// and every delivery of every run arrives (the bench reports MISSING rows otherwise), and a backlog
// of pending deliveries drains once the targets come up. Its numbers are not asserted: they are
// for BENCHMARKS.md, and this machine is shared.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('runs the quick bench end to end, with every delivery arriving', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench/main.ts', '--quick', '--only=e2e,memory'],
    {
      timeout: 200_000,
    },
  );
  const rows = stdout.split('\n').filter((line) => /^(end to end|memory)/.test(line));
  expect(rows.filter((line) => line.startsWith('end to end:') && /deliveries\/s/.test(line))).toHaveLength(5);
  expect(rows.some((line) => line.startsWith('memory: RSS after the backlog drained'))).toBe(true);
  expect(stdout).not.toContain('MISSING');
}, 240_000);
