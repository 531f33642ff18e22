// The store contract against the SQL store on better-sqlite3 (Node), each case on a fresh file;
// and when its writes wait for the disk.
import { fdatasync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import type { SqlDriver } from '../../src/store/sql-driver.ts';
import type { DeliveryRef } from '../../src/store/store.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { CONTRACT_OPTIONS, event, STORE_CONTRACT, T0 } from './contract.ts';

describe('the SQL store on better-sqlite3', () => {
  for (const c of STORE_CONTRACT) {
    it(c.name, () => c.run(createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), CONTRACT_OPTIONS)));
  }
});

describe('the SQL store on better-sqlite3: when a write waits for the disk', () => {
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

  /** The real driver, with each flush held until the test lets it go, and what each commit saw. */
  function heldFlushes(file: string) {
    const db = openBetterSqlite(file);
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
    return { driver, held, seen };
  }

  it('commits without an fsync and settles an ingest only once the WAL is synced, the thread working meanwhile', async () => {
    const { driver, held, seen } = heldFlushes(`${tempDir()}/relay.db`);
    const store = createSqlStore(driver, CONTRACT_OPTIONS);
    seen.length = 0;
    let stored = false;
    const ingest = store.ingest(event({ targets: ['a'] })).then((status) => ((stored = true), status));
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The next commits go on while the disk syncs the first: a claim, then its attempt's record.
    const [claimed] = await store.claim([{ target: 'a', limit: 1, leaseMs: 30_000 }], T0);
    await store.record(delivered(claimed!.ref, claimed!.eventId));
    expect(stored).toBe(false);
    expect(held).toHaveLength(1);
    held.shift()!();
    await expect(ingest).resolves.toBe('accepted');
    // An ingest and a claim sharing a commit: the claim does not wait for the ingest's sync.
    let claimedAgain = false;
    const both = Promise.all([
      store.ingest(event({ id: 'e2', targets: ['a'] })),
      store.claim([{ target: 'a', limit: 1, leaseMs: 30_000 }], T0).then(() => (claimedAgain = true)),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(claimedAgain).toBe(true);
    held.shift()!();
    await both;
    const NORMAL = 1;
    expect(seen).toEqual([NORMAL, NORMAL, NORMAL, NORMAL]);
  });

  it('fails the ingests of a commit whose sync failed, and every later one; claims and records go on', async () => {
    let fail = false;
    const db = openBetterSqlite(`${tempDir()}/relay.db`, (fd, done) =>
      fail ? done(new Error('EIO: i/o error, fdatasync')) : fdatasync(fd, done),
    );
    const store = createSqlStore(db, CONTRACT_OPTIONS);
    await expect(store.ingest(event({ targets: ['a'] }))).resolves.toBe('accepted');
    fail = true;
    await expect(store.ingest(event({ id: 'e2', targets: ['a'] }))).rejects.toThrow(
      'the disk could not sync the database: EIO: i/o error, fdatasync',
    );
    // Linux may have dropped the pages it could not write: a later sync that succeeds proves nothing.
    fail = false;
    await expect(store.ingest(event({ id: 'e3', targets: ['a'] }))).rejects.toThrow('could not sync');
    const claimed = await store.claim([{ target: 'a', limit: 3, leaseMs: 30_000 }], T0);
    expect(claimed).toHaveLength(3);
    await expect(store.record(delivered(claimed[0]!.ref, claimed[0]!.eventId))).resolves.toBeUndefined();
  });

  it('syncs once for the writes that wait while a sync runs', async () => {
    let syncs = 0;
    const db = openBetterSqlite(`${tempDir()}/relay.db`, (fd, done) => {
      syncs++;
      setTimeout(() => fdatasync(fd, done), 20);
    });
    const store = createSqlStore(db, CONTRACT_OPTIONS);
    const first = store.ingest(event({ targets: ['a'] }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Three more commits while the first sync runs (the first flush syncs the folder too).
    const more: Promise<unknown>[] = [];
    for (const id of ['e2', 'e3', 'e4']) {
      more.push(store.ingest(event({ id, targets: ['a'] })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([first, ...more]);
    expect(syncs).toBe(2 + 1);
  });
});

describe('the SQL store on better-sqlite3: deliveries leased at ingest', () => {
  it('leases the named targets in the ingest itself; a claim gets the others, and the leased ones once the lease ends', async () => {
    const store = createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), CONTRACT_OPTIONS);
    const first = event({ targets: ['a', 'b'], receivedAt: T0 });
    const lease = { targets: ['a'], until: T0 + 30_000 };
    const { status, leased } = await store.ingestLeased!(first, lease);
    expect(status).toBe('accepted');
    expect(leased).toEqual([{ ref: expect.any(Number), target: 'a' }]);
    const request = (target: string) => ({ target, limit: 10, leaseMs: 30_000 });
    expect((await store.claim([request('a'), request('b')], T0)).map((d) => d.target)).toEqual(['b']);
    const [again] = await store.claim([request('a')], T0 + 30_000);
    expect(again).toMatchObject({ ref: leased[0]!.ref, eventId: first.id, attempt: 1 });
    // Seen again within the window: nothing new, nothing leased.
    expect(await store.ingestLeased!(first, lease)).toEqual({ status: 'duplicate', leased: [] });
  });
});
