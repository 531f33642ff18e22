// The shared corpus of Green API's example notifications, read in place.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../shared/fixtures/green-api/', import.meta.url));

export interface Fixture {
  name: string;
  /** The file's exact bytes, as Green API would send them. */
  bytes: Buffer;
  json: Record<string, unknown>;
}

export function fixture(name: string): Fixture {
  const bytes = readFileSync(FIXTURE_DIR + name);
  return { name, bytes, json: JSON.parse(bytes.toString('utf8')) };
}

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map(fixture);
}
