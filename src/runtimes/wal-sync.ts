// The WAL's sync off the thread, for the SQLite drivers of Node (better-sqlite3) and Deno
// (node:sqlite): their commits only write the WAL (synchronous=NORMAL), and `flush` makes the
// commits so far durable with an fdatasync that node:fs runs in a pool of its own threads on
// both runtimes, so the thread that commits goes on working while the disk syncs.
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Syncs one file descriptor's data (node:fs fdatasync; tests hand in one that fails). */
export type Datasync = (fd: number, done: (err: Error | null) => void) => void;

/**
 * fdatasync of `file`'s WAL, one at a time: a flush asked for while one runs waits for the next
 * (the running one may have started before its commit), and every flush asked for meanwhile
 * shares that next one. The first also syncs the folder, which holds the WAL's name. A sync that
 * failed once fails every later flush: Linux may have dropped the pages it could not write, and
 * a WAL with a hole loses every commit after it, so nothing more is answered as stored.
 */
export function createWalSync(file: string, datasync: Datasync) {
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
