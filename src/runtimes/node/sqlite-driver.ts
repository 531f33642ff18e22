// The SqlDriver on Node: better-sqlite3 (version 12; 13 needs Node 22), a file in WAL mode. A
// commit only writes the WAL (synchronous=NORMAL); `flush` makes the commits so far durable with
// an fdatasync of the WAL in libuv's thread pool, and the store answers an ingest only after it
// (sqlite-runner.ts). So a notification answered 200 survives a power cut, not only a crash, as
// with synchronous=FULL, but the thread goes on working while the disk syncs.
import Database from 'better-sqlite3';
import { closeSync, fdatasync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqlDriver, SqlValue } from '../../store/sql-driver.ts';
import type { LockConnection } from '../data-dir.ts';

export interface BetterSqliteDriver extends SqlDriver {
  flush(): Promise<void>;
  close(): void;
}

/** Syncs one file descriptor's data (node:fs fdatasync; tests hand in one that fails). */
export type Datasync = (fd: number, done: (err: Error | null) => void) => void;

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

/**
 * fdatasync of `file`'s WAL, one at a time: a flush asked for while one runs waits for the next
 * (the running one may have started before its commit), and every flush asked for meanwhile
 * shares that next one. The first also syncs the folder, which holds the WAL's name. A sync that
 * failed once fails every later flush: Linux may have dropped the pages it could not write, and
 * a WAL with a hole loses every commit after it, so nothing more is answered as stored.
 */
function createWalSync(file: string, datasync: Datasync) {
  let walFd: number | null = null;
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  let failed: Error | null = null;

  const syncOnce = (fd: number) =>
    new Promise<void>((resolve, reject) => datasync(fd, (err) => (err ? reject(err) : resolve())));
  const sync = async () => {
    if (walFd === null) {
      // Opened at the first flush, after a commit: the WAL exists by then. It keeps its inode
      // while the database is open (SQLite deletes it only when the last connection closes).
      walFd = openSync(`${file}-wal`, 'r');
      const folder = openSync(dirname(file), 'r');
      try {
        await syncOnce(folder);
      } finally {
        closeSync(folder);
      }
    }
    await syncOnce(walFd);
  };
  const start = (): Promise<void> => {
    if (failed) return Promise.reject(failed);
    running = sync()
      .catch((err: Error) => {
        throw (failed = new Error(`the disk could not sync the database: ${err.message}`));
      })
      .finally(() => (running = null));
    return running;
  };
  return {
    flush(): Promise<void> {
      if (!running) return start();
      const after = () => {
        next = null;
        return start();
      };
      return (next ??= running.then(after, after));
    },
    close() {
      if (walFd !== null) closeSync(walFd);
      walFd = null;
    },
  };
}

/** A bare connection for the data folder's lock (data-dir.ts): no waiting, so a held lock fails at once. */
export function openBetterSqliteLock(file: string): LockConnection {
  const db = new Database(file, { timeout: 0 });
  return { exec: (sql) => void db.exec(sql), close: () => db.close() };
}
