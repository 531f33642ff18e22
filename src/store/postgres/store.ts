// The Store on Postgres (RELAY_DATABASE_URL=postgres://…), which several relays share: the SQL
// store's plans (sql-store.ts) over the Postgres runner, on tables made at start.
import postgres from 'postgres';
import { createSqlStoreOn, type SqlStoreOptions } from '../sql-store.ts';
import type { Store } from '../store.ts';
import { postgresRunner, retriedTransaction } from './runner.ts';
import { MIGRATE } from './schema.ts';
import { createPostgresFeed, type PostgresFeed } from './live-feed.ts';

export interface PostgresStoreOptions extends Omit<SqlStoreOptions, 'pace'> {
  url: string;
  /** This relay's name in the leases it takes (RELAY_ID; unique per running relay). */
  holder: string;
}

/** Connections per relay: one group commit at a time, reads beside it, and the LISTEN of the live list. */
const POOL_SIZE = 10;

export interface PostgresStore extends Store {
  /** The inspector's live list across the relays on this database. */
  feed: PostgresFeed;
  /** Runs statements without parameters (diagnostics, and tests). */
  exec(sql: string): Promise<void>;
  /** Waits for the statements in flight, then closes the connections. */
  close(): Promise<void>;
}

/** Times, counts and ids are BIGINT: read back as numbers (epoch ms fit in 2^53). */
const NUMBER = { to: 20, from: [20, 1700], serialize: (x: number) => String(x), parse: (x: string) => Number(x) };

/** The database could not be reached or set up at start; the message names it without its password. */
export class DatabaseUnavailable extends Error {}

/** Where a URL points, for messages: host, port and database, never the credentials. */
function databaseName(url: string): string {
  try {
    const { hostname, port, pathname } = new URL(url);
    return `${hostname}:${port || 5432}${pathname}`;
  } catch {
    return 'RELAY_DATABASE_URL';
  }
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  if (!/^postgres(ql)?:\/\//.test(options.url))
    throw new DatabaseUnavailable('RELAY_DATABASE_URL must be a postgres:// URL');
  const client = postgres(options.url, {
    max: POOL_SIZE,
    // A database that does not answer makes ingests fail (503) in seconds, not after the default 30.
    connect_timeout: 5,
    // The client counts failed connects across the pool and waits up to 20 s before the next (3^n
    // / 100 s): ten connections failing through a 2 s restart kept the relay from a database that
    // was back for up to 13 s more. At most a second between one connection's tries.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    // The statements pass no arrays (lists go as JSON text), so a new connection need not read the
    // array types first: that query's failure, when the connection breaks during it, is not caught
    // by the client and stopped the relay.
    fetch_types: false,
    idle_timeout: 60,
    onnotice: () => {},
    types: { bigint: NUMBER },
  });
  try {
    // The schema's `IF NOT EXISTS` statements still lock their tables (CREATE INDEX takes a SHARE lock
    // before it finds the index), so a relay restarting beside running ones can deadlock with
    // their transactions: Postgres cancels one side, and the schema is applied again.
    await retriedTransaction(client, (tx) => tx.unsafe(MIGRATE).simple());
  } catch (err) {
    await client.end({ timeout: 1 });
    throw new DatabaseUnavailable(
      `the database at ${databaseName(options.url)} could not be set up: ${(err as Error).message}`,
    );
  }
  const store = createSqlStoreOn(postgresRunner(client, options.holder), options);
  const feed = createPostgresFeed(client, options.holder);
  return {
    ...store,
    feed,
    exec: async (sql) => void (await client.unsafe(sql).simple()),
    async close() {
      feed.close();
      await client.end({ timeout: 5 });
    },
  };
}
