// The SqlDriver on Node: better-sqlite3 (version 12; 13 needs Node 22), a file in WAL mode. A
// commit only writes the WAL (synchronous=NORMAL); `flush` makes the commits so far durable with
// an fdatasync of the WAL in libuv's thread pool, and the store answers an ingest only after it
// (sqlite-runner.ts). So a notification answered 200 survives a power cut, not only a crash, as
// with synchronous=FULL, but the thread goes on working while the disk syncs. (Syncing on the
// thread itself cost ~9 % less CPU but held every delivery up for the sync: the p99 from answer to
// receipt went from tens to hundreds of milliseconds, measured in the note of issue 17.)
import Database from 'better-sqlite3';
import { fdatasync } from 'node:fs';
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';
import type { LockConnection } from '../data-dir.ts';
import { createWalSync, type Datasync } from '../wal-sync.ts';

export interface BetterSqliteDriver extends SqlDriver {
  flush(): Promise<void>;
  close(): void;
}

export function openBetterSqlite(file: string, datasync: Datasync = fdatasync): BetterSqliteDriver {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // In WAL mode NORMAL syncs the WAL before each checkpoint and its header when it is reused, as
  // FULL does; FULL would also sync it at every commit, which `flush` does off the thread instead.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  // One wrapper for every transaction: better-sqlite3 builds four functions per `transaction()` call.
  const inTransaction = db.transaction((fn: () => unknown) => fn());
  const wal = createWalSync(file, datasync);
  return {
    exec: (sql) => void db.exec(sql),
    run: (sql, params: readonly SqlValue[] = []) => prepare(sql).run(...params).changes,
    all: <Row>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...params) as Row[],
    transaction: <T>(fn: () => T) => inTransaction(fn) as T,
    flush: wal.flush,
    close() {
      db.close();
      wal.close();
    },
  };
}

/** A bare connection for the data folder's lock (data-dir.ts): no waiting, so a held lock fails at once. */
export function openBetterSqliteLock(file: string): LockConnection {
  const db = new Database(file, { timeout: 0 });
  return { exec: (sql) => void db.exec(sql), close: () => db.close() };
}
