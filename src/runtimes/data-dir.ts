// What a self-hosted relay keeps in its data folder besides the store, shared by the Node and Deno
// entries (node:fs and node:crypto work in both): the generated admin token, and the lock that
// keeps a second relay off the folder.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RelayConfig } from '../config.ts';

/** The embedded store's SQLite file in the data folder. */
export const DB_FILE = 'relay.db';
export const ADMIN_TOKEN_FILE = 'admin-token';
export const LOCK_FILE = 'relay.lock';
export const MEDIA_KEY_FILE = 'media-key';
export const MEDIA_DIR = 'media';

/** A secret kept in `dir/name`, readable by its owner only; made on first use, the same after a restart. */
export function secretIn(dir: string, name: string): { value: string; file: string; created: boolean } {
  const file = join(dir, name);
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), file, created: false };
  mkdirSync(dir, { recursive: true });
  const value = randomBytes(24).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, file, created: true };
}

/**
 * The config with an admin token: the configured one, or one generated into the data folder
 * (contract §6). Returns where a generated one lives, for the start banner.
 */
export function withAdminToken(config: RelayConfig, dataDir: string): { config: RelayConfig; generated?: string } {
  if (config.admin.token) return { config };
  const { value, file } = secretIn(dataDir, ADMIN_TOKEN_FILE);
  return { config: { ...config, admin: { token: value } }, generated: file };
}

/** The config with a media link key: the configured one, or one generated into the data folder. */
export function withMediaKey(config: RelayConfig, dataDir: string): RelayConfig {
  if (!config.media || config.media.signingKey) return config;
  return { ...config, media: { ...config.media, signingKey: secretIn(dataDir, MEDIA_KEY_FILE).value } };
}

/**
 * The link that signs a browser in: the token rides in the fragment, which browsers send to no
 * server and put in no Referer, and the sign-in page removes it from history before posting it.
 */
export function signInLink(url: string, token: string): string {
  return `${url}/login#token=${encodeURIComponent(token)}`;
}

/** What the start banner says about the admin token; the link only on a terminal, never into a log collector. */
export function signInLines(
  url: string,
  token: string,
  generatedFile: string | undefined,
  terminal: boolean,
): string[] {
  const where = generatedFile
    ? `the admin token was generated into ${generatedFile}`
    : 'the admin token is admin.token from the configuration';
  return terminal
    ? [`Inspector: ${signInLink(url, token)}`, `  (signs this browser in; ${where})`]
    : [`Inspector: ${url}/ (sign in with the admin token: ${where})`];
}

export class DataDirInUse extends Error {
  constructor(dir: string, cause: unknown) {
    super(
      `another relay is running on the data folder ${resolve(dir)} (it holds ${join(resolve(dir), LOCK_FILE)}). ` +
        'Two relays must not share one store and its leases: stop the other one, or give this one its own RELAY_DATA_DIR ' +
        '(several relays share one store through RELAY_DATABASE_URL, a Postgres).',
      { cause },
    );
    this.name = 'DataDirInUse';
  }
}

/** The little of a SQLite connection the lock needs; each runtime hands in its own driver's. */
export interface LockConnection {
  exec(sql: string): void;
  close(): void;
}

/**
 * Holds the data folder for this process: an exclusive SQLite lock on `relay.lock`, taken in a
 * transaction that is never committed. The operating system drops it when the process ends, by
 * SIGKILL too, so a crashed relay never leaves a stale lock behind (unlike a pid file).
 */
export function lockDataDir(dir: string, open: (file: string) => LockConnection): { release(): void } {
  mkdirSync(dir, { recursive: true });
  const connection = open(join(dir, LOCK_FILE));
  try {
    connection.exec('PRAGMA busy_timeout = 0');
    connection.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    connection.close();
    throw new DataDirInUse(dir, err);
  }
  return { release: () => connection.close() };
}
