// The SQL driver port: the little the SQL store needs from an embedded SQLite. Each runtime has
// a driver of a few lines (better-sqlite3 on Node, ctx.storage.sql on Workers, node:sqlite on Deno).
// It is synchronous on purpose: all three are, and a synchronous transaction cannot interleave.

export type SqlValue = string | number | null | Uint8Array;

export interface SqlDriver {
  /** Runs one or more statements without parameters (schema set-up). */
  exec(sql: string): void;
  /** Runs one statement; returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): number;
  /** Runs one query and returns its rows as objects. Blobs come back as Uint8Array. */
  all<Row>(sql: string, params?: readonly SqlValue[]): Row[];
  /** Runs `fn` in one transaction: all of its writes or none. */
  transaction<T>(fn: () => T): T;
  /**
   * Makes every commit so far durable without blocking the thread (Node and Deno: an fdatasync of
   * the WAL in node:fs's pool, runtimes/wal-sync.ts). A driver with it never waits for the disk
   * in `transaction`; the runner settles a durable write only after this resolves, and a
   * rejection fails that write. Without it (Workers), a commit is durable when it returns.
   */
  flush?(): Promise<void>;
}
