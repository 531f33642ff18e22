// Inside workerd: the outbox an instance object feeds the index from (index-feed.ts), over a real
// Durable Object's SQLite. A change made while a feed is under way is sent by the next one; a
// feed applied twice changes nothing; a pruned event leaves the index.
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { applyFeed, createIndexStore } from '../../src/runtimes/workers/event-index.ts';
import { acknowledgeFeed, feedPending, installOutbox, readFeed } from '../../src/runtimes/workers/index-feed.ts';
import { durableObjectSqlDriver } from '../../src/runtimes/workers/sqlite-driver.ts';
import type { SqlDriver } from '../../src/store/sql-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import type { Store } from '../../src/store/store.ts';
import { CONTRACT_OPTIONS, event, T0 } from '../store/contract.ts';

const namespace = (env as { INSTANCES: DurableObjectNamespace }).INSTANCES;

/** Runs `fn` over the SQLite of a fresh object of its own. */
function inObject<T>(name: string, fn: (sql: SqlDriver) => Promise<T>): Promise<T> {
  const stub = namespace.get(namespace.idFromName(`${name}-${Date.now()}-${Math.random()}`));
  return runInDurableObject(stub, (_object: unknown, state: DurableObjectState) =>
    fn(durableObjectSqlDriver(state.storage)),
  );
}

/** Claims the event's delivery to `target` and records it delivered. */
async function deliver(store: Store, target: string): Promise<void> {
  const [claimed] = await store.claim([{ target, limit: 1, leaseMs: 30_000 }], T0);
  await store.record({
    ref: claimed!.ref,
    eventId: claimed!.eventId,
    target,
    attempt: 1,
    startedAt: T0,
    latencyMs: 4,
    statusCode: 200,
    error: null,
    outcome: 'delivered',
    nextAt: null,
  });
}

const count = (sql: SqlDriver, table: string) => sql.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)[0]!.n;

describe('the index feed (workerd)', () => {
  it('notes each changed event once, keeps what changes during a feed for the next, and applies twice to the same rows', async () => {
    // The index's side: a second object's store, fed with what the first sends.
    const feeds: Parameters<typeof applyFeed>[1][] = [];
    await inObject('feed-instance', async (sql) => {
      const store = createSqlStore(sql, CONTRACT_OPTIONS);
      installOutbox(sql);
      await store.ingest(event({ id: 'FEED1', targets: ['a', 'b', 'c'] }));
      // One event, three deliveries, in one transaction: one note.
      expect(count(sql, 'index_outbox')).toBe(1);

      const first = readFeed(sql)!;
      expect(first.feed.events.map((e) => e.id)).toEqual(['FEED1']);
      expect(first.feed.deliveries.map((d) => d.target)).toEqual(['a', 'b', 'c']);
      feeds.push(first.feed);
      // While that feed is on its way, an attempt is made and recorded.
      await deliver(store, 'a');
      acknowledgeFeed(sql, first.upTo);
      // The acknowledgement forgot the old note, not the new one.
      expect(feedPending(sql)).toBe(true);
      const second = readFeed(sql)!;
      expect(second.feed.deliveries.find((d) => d.target === 'a')?.status).toBe('delivered');
      expect(second.feed.attempts).toHaveLength(1);
      feeds.push(second.feed);
      acknowledgeFeed(sql, second.upTo);
      expect(readFeed(sql)).toBeNull();

      // Pruned (retention passed, every delivery settled): the event goes from the index too.
      for (const target of ['b', 'c']) await deliver(store, target);
      expect(await store.prune(T0 + CONTRACT_OPTIONS.retentionMs + 1)).toBe(1);
      const third = readFeed(sql)!;
      expect(third.feed.gone).toEqual(['FEED1']);
      feeds.push(third.feed);
    });

    await inObject('feed-index', async (sql) => {
      const index = createIndexStore(sql, CONTRACT_OPTIONS);
      const [first, second, third] = feeds as [(typeof feeds)[0], (typeof feeds)[0], (typeof feeds)[0]];
      applyFeed(sql, first);
      applyFeed(sql, second);
      applyFeed(sql, second); // sent twice: a retried feed
      const listed = await index.listEvents({ limit: 10 });
      expect(listed.items.map((e) => [e.id, e.deliveries.map((d) => `${d.target}:${d.status}`)])).toEqual([
        ['FEED1', ['a:delivered', 'b:pending', 'c:pending']],
      ]);
      expect(count(sql, 'attempts')).toBe(1);
      expect((await index.targetStats(0)).find((t) => t.target === 'a')).toMatchObject({
        delivered: 1,
        attempts: 1,
        succeeded: 1,
      });
      applyFeed(sql, third);
      expect((await index.listEvents({ limit: 10 })).items).toEqual([]);
      expect([count(sql, 'deliveries'), count(sql, 'attempts')]).toEqual([0, 0]);
    });
  });
});
