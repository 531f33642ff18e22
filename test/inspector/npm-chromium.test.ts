// `npm test` on a machine without a system browser still runs the browser tests: the inspector
// suite run again in a child vitest whose PATH and environment offer no Chromium at all.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemChromium } from '../helpers/browser.ts';

describe('the browser tests without a system Chromium', () => {
  it('take a Chromium from the npm registry and pass', async () => {
    // Only node and npm: no chromium on this PATH, and no CHROMIUM_PATH.
    const env = {
      PATH: dirname(process.execPath),
      HOME: process.env.HOME ?? '/tmp',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
    };
    expect(systemChromium(env)).toBeNull();
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--project', 'node', 'test/inspector/inspector.test.ts'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(output, output).toMatch(/vitest: [1-9]\d* passed, 0 failed, 0 skipped/);
    expect(code).toBe(0);
  }, 120_000);
});
