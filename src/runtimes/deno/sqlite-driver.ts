// The SqlDriver on Deno (self-hosted): node:sqlite's DatabaseSync, a file in WAL mode with
// synchronous=FULL, as on Node.
/// <reference path="./node-sqlite.d.ts" />
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';
import type { LockConnection } from '../data-dir.ts';

export interface NodeSqliteDriver extends SqlDriver {
  close(): void;
}

export function openNodeSqlite(file: string): NodeSqliteDriver {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  let synced = true;
  return {
    exec: (sql) => db.exec(sql),
    run: (sql, params: readonly SqlValue[] = []) => Number(prepare(sql).run(...params).changes),
    all: <Row>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...params) as Row[],
    transaction<T>(fn: () => T, durable = true): T {
      // A commit without an ingest skips the fsync (Node syncs the WAL off the thread instead).
      if (durable !== synced) db.exec(`PRAGMA synchronous = ${(synced = durable) ? 'FULL' : 'NORMAL'}`);
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = fn();
        db.exec('COMMIT');
        return result;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    close: () => db.close(),
  };
}

/** A bare connection for the data folder's lock (data-dir.ts). */
export function openNodeSqliteLock(file: string): LockConnection {
  return new DatabaseSync(file);
}
