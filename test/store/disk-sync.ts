// When the SQL store's writes wait for the disk, written once (node:assert, no test framework) for
// the two drivers that sync the WAL off the thread: better-sqlite3 (vitest) and node:sqlite (deno
// test). Each case opens its own file through `open`, with node:fs's fdatasync or the one it hands in.
import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import type { Datasync } from '../../src/runtimes/wal-sync.ts';
import type { SqlDriver } from '../../src/store/sql-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import type { DeliveryRef } from '../../src/store/store.ts';
import { CONTRACT_OPTIONS, event, T0 } from './contract.ts';

export type OpenSyncedDriver = (file: string, datasync?: Datasync) => SqlDriver & { flush(): Promise<void> };

export interface DiskSyncCase {
  name: string;
  run(open: OpenSyncedDriver, dir: string): Promise<void>;
}

const delivered = (ref: DeliveryRef, eventId: string) => ({
  ref,
  eventId,
  target: 'a',
  attempt: 1,
  startedAt: T0,
  latencyMs: 3,
  statusCode: 200,
  error: null,
  outcome: 'delivered' as const,
  nextAt: null,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const claimOne = { target: 'a', limit: 1, leaseMs: 30_000 };

export const DISK_SYNC_CASES: DiskSyncCase[] = [
  {
    name: 'commits without an fsync and settles an ingest only once the WAL is synced, the thread working meanwhile',
    async run(open, dir) {
      // The real driver, with each flush held until the case lets it go, and what each commit saw.
      const db = open(`${dir}/relay.db`);
      const held: (() => void)[] = [];
      const seen: number[] = [];
      const driver: SqlDriver = {
        ...db,
        transaction: (fn) =>
          db.transaction(() => {
            seen.push(db.all<{ synchronous: number }>('PRAGMA synchronous')[0]!.synchronous);
            return fn();
          }),
        flush: () => new Promise<void>((resolve) => held.push(resolve)).then(db.flush),
      };
      const store = createSqlStore(driver, CONTRACT_OPTIONS);
      seen.length = 0;
      let stored = false;
      const ingest = store.ingest(event({ targets: ['a'] })).then((status) => ((stored = true), status));
      await sleep(5);
      // The next commits go on while the disk syncs the first: a claim, then its attempt's record.
      const [claimed] = await store.claim([claimOne], T0);
      await store.record(delivered(claimed!.ref, claimed!.eventId));
      assert.equal(stored, false);
      assert.equal(held.length, 1);
      held.shift()!();
      assert.equal(await ingest, 'accepted');
      // An ingest and a claim sharing a commit: the claim does not wait for the ingest's sync.
      let claimedAgain = false;
      const both = Promise.all([
        store.ingest(event({ id: 'e2', targets: ['a'] })),
        store.claim([claimOne], T0).then(() => (claimedAgain = true)),
      ]);
      await sleep(20);
      assert.equal(claimedAgain, true);
      held.shift()!();
      await both;
      const NORMAL = 1;
      assert.deepEqual(seen, [NORMAL, NORMAL, NORMAL, NORMAL]);
    },
  },
  {
    name: 'fails the ingests of a commit whose sync failed, and every later one; claims and records go on',
    async run(open, dir) {
      let fail = false;
      const db = open(`${dir}/relay.db`, (fd, done) =>
        fail ? done(new Error('EIO: i/o error, fdatasync')) : fdatasync(fd, done),
      );
      const store = createSqlStore(db, CONTRACT_OPTIONS);
      assert.equal(await store.ingest(event({ targets: ['a'] })), 'accepted');
      fail = true;
      await assert.rejects(store.ingest(event({ id: 'e2', targets: ['a'] })), {
        message: 'the disk could not sync the database: EIO: i/o error, fdatasync',
      });
      // Linux may have dropped the pages it could not write: a later sync that succeeds proves nothing.
      fail = false;
      await assert.rejects(store.ingest(event({ id: 'e3', targets: ['a'] })), /could not sync/);
      const claimed = await store.claim([{ ...claimOne, limit: 3 }], T0);
      assert.equal(claimed.length, 3);
      assert.equal(await store.record(delivered(claimed[0]!.ref, claimed[0]!.eventId)), undefined);
    },
  },
  {
    name: 'syncs once for the writes that wait while a sync runs',
    async run(open, dir) {
      let syncs = 0;
      const db = open(`${dir}/relay.db`, (fd, done) => {
        syncs++;
        setTimeout(() => fdatasync(fd, done), 20);
      });
      const store = createSqlStore(db, CONTRACT_OPTIONS);
      const first = store.ingest(event({ targets: ['a'] }));
      await sleep(5);
      // Three more commits while the first sync runs (the first flush syncs the folder too).
      const more: Promise<unknown>[] = [];
      for (const id of ['e2', 'e3', 'e4']) {
        more.push(store.ingest(event({ id, targets: ['a'] })));
        await sleep(0);
      }
      await Promise.all([first, ...more]);
      assert.equal(syncs, 2 + 1);
    },
  },
];
