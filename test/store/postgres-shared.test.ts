// Two relays' stores on one Postgres (two holders, two connection pools), racing for the same
// rows: claims never overlap, deduplication is exact, per-chat order holds, leases have one
// holder at a time, and a relay releases only its own claims.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import type { ClaimedDelivery } from '../../src/store/store.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { CONTRACT_OPTIONS, event, T0 } from './contract.ts';

let server: TestPostgres;
const opened: PostgresStore[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await server?.stop();
});

/** Two relays' stores on a fresh database. */
async function pair(): Promise<[PostgresStore, PostgresStore]> {
  const url = await server.database();
  const a = await openPostgresStore({ url, holder: 'relay-a', ...CONTRACT_OPTIONS });
  const b = await openPostgresStore({ url, holder: 'relay-b', ...CONTRACT_OPTIONS });
  opened.push(a, b);
  return [a, b];
}

const LEASE = 30_000;
const delivered = (d: ClaimedDelivery, at: number) => ({
  ref: d.ref,
  eventId: d.eventId,
  target: d.target,
  attempt: d.attempt,
  startedAt: at,
  latencyMs: 1,
  statusCode: 200,
  error: null,
  outcome: 'delivered' as const,
  nextAt: null,
});

describe('two relays sharing one Postgres', () => {
  it('set up an empty database together: relays starting at once do not race for the tables', async () => {
    const url = await server.database();
    const stores = await Promise.all(
      ['r1', 'r2', 'r3', 'r4'].map((holder) => openPostgresStore({ url, holder, ...CONTRACT_OPTIONS })),
    );
    opened.push(...stores);
    assert.equal(await stores[0]!.ingest(event()), 'accepted');
    assert.equal((await stores[3]!.listEvents({ limit: 10 })).items.length, 1);
  });

  it('deduplicate exactly: the same id ingested by both at once is accepted once', async () => {
    const [a, b] = await pair();
    const events = Array.from({ length: 200 }, () => event());
    const answers = await Promise.all(events.flatMap((e) => [a.ingest(e), b.ingest(e)]));
    for (let i = 0; i < events.length; i++)
      assert.deepEqual([answers[2 * i], answers[2 * i + 1]].sort(), ['accepted', 'duplicate'], events[i]!.id);
    const stats = await a.targetStats(0);
    assert.deepEqual(
      stats.map((s) => [s.target, s.pending]),
      [
        ['a', 200],
        ['b', 200],
      ],
    );
  });

  it('never claim one delivery twice, however they race', async () => {
    const [a, b] = await pair();
    await Promise.all(Array.from({ length: 300 }, () => a.ingest(event({ targets: ['a'] }))));
    const seen = new Map<string, string>();
    const drain = async (store: PostgresStore, name: string) => {
      for (;;) {
        const claimed = await store.claim([{ target: 'a', limit: 7, leaseMs: LEASE }], T0);
        if (claimed.length === 0) return;
        for (const d of claimed) {
          assert.equal(seen.get(d.eventId), undefined, `${d.eventId} claimed by ${seen.get(d.eventId)} and ${name}`);
          seen.set(d.eventId, name);
        }
      }
    };
    await Promise.all([drain(a, 'a'), drain(b, 'b'), drain(a, 'a2'), drain(b, 'b2')]);
    assert.equal(seen.size, 300);
    assert.ok([...seen.values()].includes('a') && [...seen.values()].includes('b'), 'both took a share');
  });

  it('keep per-chat order between them: one delivery of a chat in flight, oldest first', async () => {
    const [a, b] = await pair();
    const chats = ['c1@c.us', 'c2@c.us', 'c3@c.us'];
    const order = new Map(chats.map((chat) => [chat, [] as string[]]));
    for (let i = 0; i < 8; i++)
      for (const chat of chats) {
        const e = event({ subject: chat, targets: ['a'] });
        order.get(chat)!.push(e.id);
        await (i % 2 ? a : b).ingest(e);
      }
    const got = new Map(chats.map((chat) => [chat, [] as string[]]));
    const subjectOf = new Map([...order].flatMap(([chat, ids]) => ids.map((id) => [id, chat] as const)));
    for (let round = 0; round < 100; round++) {
      const request = [{ target: 'a', limit: 10, leaseMs: LEASE, perChat: true }];
      const [fromA, fromB] = await Promise.all([a.claim(request, T0), b.claim(request, T0)]);
      const inFlight = [...fromA, ...fromB];
      if (inFlight.length === 0) break;
      const chatsInFlight = inFlight.map((d) => subjectOf.get(d.eventId));
      assert.equal(new Set(chatsInFlight).size, chatsInFlight.length, 'two of one chat in flight');
      for (const d of inFlight) got.get(subjectOf.get(d.eventId)!)!.push(d.eventId);
      await Promise.all([
        ...fromA.map((d) => a.record(delivered(d, T0))),
        ...fromB.map((d) => b.record(delivered(d, T0))),
      ]);
    }
    assert.deepEqual(got, order);
  });

  it('hold a lease one at a time, until it ends or its holder drops it', async () => {
    const [a, b] = await pair();
    assert.equal(await a.takeLease('pull:1101', T0, 10_000), true);
    assert.equal(await b.takeLease('pull:1101', T0 + 1, 10_000), false);
    assert.equal(await a.takeLease('pull:1101', T0 + 5_000, 10_000), true, 'renewed by its holder');
    assert.equal(await b.takeLease('pull:1101', T0 + 14_000, 10_000), false, 'the renewal counts from its time');
    assert.equal(await b.takeLease('pull:1101', T0 + 15_000, 10_000), true, 'ended: taken over');
    assert.equal(await a.takeLease('pull:1101', T0 + 15_001, 10_000), false);
    await a.dropLease('pull:1101');
    assert.equal(await a.takeLease('pull:1101', T0 + 15_002, 10_000), false, 'only the holder drops it');
    await b.dropLease('pull:1101');
    assert.equal(await a.takeLease('pull:1101', T0 + 15_003, 10_000), true);
  });

  it('release only their own claims at a start; the others end with their lease', async () => {
    const [a, b] = await pair();
    await Promise.all(Array.from({ length: 10 }, () => a.ingest(event({ targets: ['a'] }))));
    const request = [{ target: 'a', limit: 5, leaseMs: LEASE }];
    assert.equal((await a.claim(request, T0)).length, 5);
    assert.equal((await b.claim(request, T0)).length, 5);
    assert.equal(await b.releaseClaims(T0 + 1), 5);
    const again = await a.claim([{ target: 'a', limit: 50, leaseMs: LEASE }], T0 + 2);
    assert.equal(again.length, 5, "b's five are due again, a's still leased");
    assert.equal((await b.claim(request, T0 + LEASE + 1)).length, 5, "a's lease ended: taken over");
  });

  it('keep a late record from moving a delivery another relay took over', async () => {
    const [a, b] = await pair();
    const e = event({ targets: ['a'] });
    await a.ingest(e);
    const [late] = await a.claim([{ target: 'a', limit: 1, leaseMs: LEASE }], T0);
    const [taken] = await b.claim([{ target: 'a', limit: 1, leaseMs: LEASE }], T0 + LEASE + 1);
    assert.equal(taken!.eventId, e.id, "a's lease ran out: b took the delivery");
    await b.record(delivered(taken!, T0 + LEASE + 2));
    await a.record({ ...delivered(late!, T0 + LEASE + 3), statusCode: 500, error: 'HTTP 500', outcome: 'dead' });
    const detail = await a.getEvent(e.id);
    assert.equal(detail!.deliveries[0]!.status, 'delivered');
    assert.deepEqual(
      detail!.attempts.map((attempt) => attempt.outcome),
      ['delivered', 'dead'],
      'both attempts are in the history',
    );
  });

  it('never claim one media job twice', async () => {
    const [a, b] = await pair();
    const media = [
      {
        part: 'message' as const,
        url: 'https://example.com/f',
        chatId: 'c@c.us',
        messageId: 'm',
        mimeType: null,
        fileName: null,
      },
    ];
    await Promise.all(Array.from({ length: 40 }, () => a.ingest(event({ media, waitFor: ['a'] }))));
    const [fromA, fromB] = await Promise.all([a.claimMedia(30, T0, LEASE), b.claimMedia(30, T0, LEASE)]);
    const ids = [...fromA, ...fromB].map((job) => job.eventId);
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40);
  });
});
