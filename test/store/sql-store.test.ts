// The store contract against the SQL store on better-sqlite3 (Node), each case on a fresh file;
// when its writes wait for the disk (disk-sync.ts, shared with Deno); and its leases at ingest.
import { describe, expect, it } from 'vitest';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { CONTRACT_OPTIONS, event, STORE_CONTRACT, T0 } from './contract.ts';
import { DISK_SYNC_CASES } from './disk-sync.ts';

describe('the SQL store on better-sqlite3', () => {
  for (const c of STORE_CONTRACT) {
    it(c.name, () => c.run(createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), CONTRACT_OPTIONS)));
  }
});

describe('the SQL store on better-sqlite3: when a write waits for the disk', () => {
  for (const c of DISK_SYNC_CASES) it(c.name, () => c.run(openBetterSqlite, tempDir()));
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
