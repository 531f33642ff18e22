// A fresh temporary folder, for tests that need a data folder or a SQLite file of their own.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'green-relay-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
