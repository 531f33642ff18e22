// The store contract against the SQL store on better-sqlite3 (Node), each case on a fresh file;
// and which commits wait for the disk.
import { describe, expect, it } from 'vitest';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import type { SqlDriver } from '../../src/store/sql-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { CONTRACT_OPTIONS, event, STORE_CONTRACT, T0 } from './contract.ts';

describe('the SQL store on better-sqlite3', () => {
  for (const c of STORE_CONTRACT) {
    it(c.name, () => c.run(createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), CONTRACT_OPTIONS)));
  }
});

describe('the SQL store on better-sqlite3: when a commit waits for the disk', () => {
  it('syncs a commit with an ingest (synchronous=FULL), not one of claims and records only (NORMAL)', async () => {
    const db = openBetterSqlite(`${tempDir()}/relay.db`);
    const seen: number[] = [];
    const watched: SqlDriver = {
      ...db,
      transaction: (fn, durable) =>
        db.transaction(() => {
          seen.push(db.all<{ synchronous: number }>('PRAGMA synchronous')[0]!.synchronous);
          return fn();
        }, durable),
    };
    const store = createSqlStore(watched, CONTRACT_OPTIONS);
    seen.length = 0;
    await store.ingest(event({ targets: ['a'] }));
    const [claimed] = await store.claim([{ target: 'a', limit: 1, leaseMs: 30_000 }], T0);
    await store.record({
      ref: claimed!.ref,
      eventId: claimed!.eventId,
      target: 'a',
      attempt: 1,
      startedAt: T0,
      latencyMs: 3,
      statusCode: 200,
      error: null,
      outcome: 'delivered',
      nextAt: null,
    });
    // An ingest and a claim in one turn share a commit: it waits for the disk.
    await Promise.all([
      store.ingest(event({ targets: ['a'] })),
      store.claim([{ target: 'a', limit: 1, leaseMs: 30_000 }], T0),
    ]);
    const [FULL, NORMAL] = [2, 1];
    expect(seen).toEqual([FULL, NORMAL, NORMAL, FULL]);
  });
});
