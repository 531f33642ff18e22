// House rules that keep the project honest: a runtime-neutral core, and one version everywhere.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('the project', () => {
  it('keeps the core free of runtime globals (only src/runtimes/ and src/cli/ may use them)', () => {
    const offenders = files(join(root, 'src'))
      .map((file) => relative(root, file))
      .filter((file) => !/^src\/(runtimes|cli)\//.test(file))
      .filter((file) =>
        /\b(process\.|Deno\.)|from ['"](node:|cloudflare:)/.test(readFileSync(join(root, file), 'utf8')),
      );
    expect(offenders).toEqual([]);
  });

  it('sends the version of package.json in its user-agent', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });
});
