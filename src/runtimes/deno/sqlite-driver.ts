// The SqlDriver on Deno (self-hosted): node:sqlite's DatabaseSync, a file in WAL mode, durable as
// on Node: a commit only writes the WAL (synchronous=NORMAL), and `flush` syncs it off the thread
// (wal-sync.ts), the store answering an ingest only after that. Deno runs the server, the store
// and the dispatcher on one thread, which would otherwise stand still for every commit's fsync.
/// <reference path="./node-sqlite.d.ts" />
import { fdatasync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';
import type { LockConnection } from '../data-dir.ts';
import { createWalSync, type Datasync } from '../wal-sync.ts';

export interface NodeSqliteDriver extends SqlDriver {
  flush(): Promise<void>;
  close(): void;
}

export function openNodeSqlite(file: string, datasync: Datasync = fdatasync): NodeSqliteDriver {
  const db = new DatabaseSync(file);
  // NORMAL in WAL mode still syncs the WAL before each checkpoint and its header when it is reused.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const wal = createWalSync(file, datasync);
  return {
    exec: (sql) => db.exec(sql),
    run: (sql, params: readonly SqlValue[] = []) => Number(prepare(sql).run(...params).changes),
    all: <Row>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...params) as Row[],
    transaction<T>(fn: () => T): T {
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
    flush: wal.flush,
    close() {
      db.close();
      wal.close();
    },
  };
}

/** A bare connection for the data folder's lock (data-dir.ts). */
export function openNodeSqliteLock(file: string): LockConnection {
  return new DatabaseSync(file);
}
