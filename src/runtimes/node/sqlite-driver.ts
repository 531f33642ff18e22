// The SqlDriver on Node: better-sqlite3 (version 12; 13 needs Node 22), a file in WAL mode with
// synchronous=FULL, so that a notification answered 200 survives a power cut, not only a crash.
import Database from 'better-sqlite3';
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';
import type { LockConnection } from '../data-dir.ts';

export interface BetterSqliteDriver extends SqlDriver {
  close(): void;
}

export function openBetterSqlite(file: string): BetterSqliteDriver {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  // One wrapper for every transaction: better-sqlite3 builds four functions per `transaction()` call.
  const inTransaction = db.transaction((fn: () => unknown) => fn());
  let synced = true;
  return {
    exec: (sql) => void db.exec(sql),
    run: (sql, params: readonly SqlValue[] = []) => prepare(sql).run(...params).changes,
    all: <Row>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...params) as Row[],
    transaction<T>(fn: () => T, durable = true): T {
      // Set between transactions, and only when it changes: a commit without an ingest skips the fsync.
      if (durable !== synced) db.pragma(`synchronous = ${(synced = durable) ? 'FULL' : 'NORMAL'}`);
      return inTransaction(fn) as T;
    },
    close: () => db.close(),
  };
}

/** A bare connection for the data folder's lock (data-dir.ts): no waiting, so a held lock fails at once. */
export function openBetterSqliteLock(file: string): LockConnection {
  const db = new Database(file, { timeout: 0 });
  return { exec: (sql) => void db.exec(sql), close: () => db.close() };
}
