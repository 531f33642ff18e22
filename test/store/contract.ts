// The store contract: what every Store must do, written once (node:assert, no test framework)
// and run against the SQL store on better-sqlite3 (vitest), node:sqlite and Deno KV (deno test).
import assert from 'node:assert/strict';
import type { NewEvent, Store } from '../../src/store/store.ts';

export interface StoreCase {
  name: string;
  run(store: Store): Promise<void>;
}

/** Every store under test is made with these windows. */
export const CONTRACT_OPTIONS = { dedupWindowMs: 60_000, retentionMs: 120_000 };

export const T0 = 1_800_000_000_000;
const LEASE = 30_000;
let serial = 0;

export function event(overrides: Partial<NewEvent> = {}): NewEvent {
  const id = overrides.id ?? `ev${serial++}x${Math.random().toString(36).slice(2, 8)}`;
  const data = {
    webhook: 'incomingMessageReceived',
    message: { kind: 'text', text: `hello ${id}` },
    status: null,
    state: null,
  };
  return {
    id,
    instance: '1101000001',
    type: 'com.green-api.message.received',
    subject: '79001234567@c.us',
    receivedAt: T0,
    preview: `text "hello ${id}"`,
    attributes: JSON.stringify({ specversion: '1.0', id, type: 'com.green-api.message.received' }),
    data: JSON.stringify(data),
    body: new TextEncoder().encode(JSON.stringify({ typeWebhook: 'incomingMessageReceived', idMessage: id })),
    targets: ['a', 'b'],
    ...overrides,
  };
}

const claimAll = (store: Store, now: number, target = 'a', limit = 50) =>
  store.claim([{ target, limit, leaseMs: LEASE }], now);

export function attempt(
  d: { ref: string | number; eventId: string; target: string; attempt: number },
  outcome: 'delivered' | 'retry' | 'dead',
  startedAt: number,
  nextAt: number | null = null,
) {
  return {
    ref: d.ref,
    eventId: d.eventId,
    target: d.target,
    attempt: d.attempt,
    startedAt,
    latencyMs: 5,
    statusCode: outcome === 'delivered' ? 200 : 500,
    error: outcome === 'delivered' ? null : 'HTTP 500',
    outcome,
    nextAt,
  };
}

export const STORE_CONTRACT: StoreCase[] = [
  {
    name: 'ingests an event with one pending delivery per target, and answers duplicate within the window',
    async run(store) {
      const e = event();
      assert.equal(await store.ingest(e), 'accepted');
      assert.equal(await store.ingest({ ...e, receivedAt: T0 + 1_000 }), 'duplicate');
      const detail = await store.getEvent(e.id);
      assert.ok(detail);
      assert.equal(detail.duplicates, 1);
      assert.deepEqual(detail.deliveries.map((d) => [d.target, d.status]).sort(), [
        ['a', 'pending'],
        ['b', 'pending'],
      ]);
      assert.equal(detail.preview, `text "hello ${e.id}"`);
      assert.equal(new TextDecoder().decode(detail.body), new TextDecoder().decode(e.body));
    },
  },
  {
    name: 'claims due deliveries with their event, leases them, and gives them back after the lease',
    async run(store) {
      const e = event();
      await store.ingest(e);
      const [claimed, ...rest] = await claimAll(store, T0);
      assert.equal(rest.length, 0);
      assert.equal(claimed!.eventId, e.id);
      assert.equal(claimed!.attempt, 1);
      assert.equal(claimed!.attributes, e.attributes);
      assert.equal(claimed!.data, e.data);
      assert.deepEqual([...claimed!.body], [...e.body]);
      assert.equal((await claimAll(store, T0 + 1_000)).length, 0, 'leased: not claimed again');
      assert.equal((await claimAll(store, T0 + LEASE + 1)).length, 1, 'the lease ran out');
    },
  },
  {
    name: 'records attempts: delivered settles, retry is due again at nextAt, dead is kept',
    async run(store) {
      const e = event({ targets: ['a'] });
      await store.ingest(e);
      let [d] = await claimAll(store, T0);
      await store.record(attempt(d!, 'retry', T0, T0 + 5_000));
      assert.equal((await claimAll(store, T0 + 4_000)).length, 0);
      assert.equal(await store.nextDueAt(['a']), T0 + 5_000);
      [d] = await claimAll(store, T0 + 5_000);
      assert.equal(d!.attempt, 2);
      await store.record(attempt(d!, 'dead', T0 + 5_000));
      assert.equal((await claimAll(store, T0 + 999_999)).length, 0);
      const detail = (await store.getEvent(e.id))!;
      assert.deepEqual(
        detail.deliveries.map((x) => [x.status, x.attempts]),
        [['dead', 2]],
      );
      assert.deepEqual(
        detail.attempts.map((a) => [a.series, a.attempt, a.outcome]),
        [
          [0, 1, 'retry'],
          [0, 2, 'dead'],
        ],
      );
      const dead = await store.listEvents({ status: 'dead', limit: 10 });
      assert.ok(dead.items.some((x) => x.id === e.id));
    },
  },
  {
    name: "replays a dead delivery as a new series, and a whole target's dead letters",
    async run(store) {
      const [one, two] = [event({ targets: ['a'] }), event({ targets: ['a'] })];
      for (const e of [one, two]) {
        await store.ingest(e);
        const [d] = await claimAll(store, T0);
        await store.record(attempt(d!, 'dead', T0));
      }
      assert.equal(await store.replay(one.id, ['a'], T0 + 10), 1);
      const [again] = await claimAll(store, T0 + 10);
      assert.equal(again!.eventId, one.id);
      assert.equal(again!.attempt, 1);
      await store.record(attempt(again!, 'delivered', T0 + 10));
      const detail = (await store.getEvent(one.id))!;
      assert.deepEqual(
        detail.deliveries.map((x) => [x.status, x.series]),
        [['delivered', 1]],
      );
      assert.equal(await store.replayDead('a', T0 + 20), 1);
      assert.deepEqual(
        (await claimAll(store, T0 + 20)).map((x) => x.eventId),
        [two.id],
      );
      assert.equal(await store.replay(one.id, ['c'], T0 + 30), 1, 'a target without a delivery gets one');
      assert.equal(await store.replay('nope', ['a'], T0), 0);
    },
  },
  {
    name: 'releases the leases of a previous run, and tells when the next delivery is due',
    async run(store) {
      await store.ingest(event({ targets: ['a'] }));
      await store.ingest(event({ targets: ['a'], receivedAt: T0 + 50 }));
      assert.equal((await claimAll(store, T0)).length, 1);
      assert.equal(await store.nextDueAt(['a']), T0 + 50);
      assert.equal(await store.releaseClaims(T0 + 100), 1);
      assert.equal((await claimAll(store, T0 + 100)).length, 2);
      assert.equal(await store.nextDueAt([]), null);
    },
  },
  {
    name: 'keeps a 200 KiB body byte for byte',
    async run(store) {
      const body = new Uint8Array(200 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
      const text = 'ü'.repeat(70_000);
      const e = event({ body, data: JSON.stringify({ message: { kind: 'text', text } }), targets: ['a'] });
      await store.ingest(e);
      const [claimed] = await claimAll(store, T0);
      assert.equal(claimed!.body.byteLength, body.byteLength);
      assert.deepEqual([...claimed!.body], [...body]);
      assert.equal(JSON.parse(claimed!.data).message.text, text);
    },
  },
  {
    name: 'keeps quarantined bodies, lists them newest first, and notes their release',
    async run(store) {
      const first = await store.quarantine({
        receivedAt: T0,
        reason: 'body is not JSON',
        instance: null,
        contentType: 'text/plain',
        body: new TextEncoder().encode('oops'),
      });
      const second = await store.quarantine({
        receivedAt: T0 + 1,
        reason: 'no typeWebhook',
        instance: '1',
        contentType: null,
        body: new Uint8Array(100_000),
      });
      assert.match(first, /^q\d+$/);
      const page = await store.listQuarantine(1);
      assert.deepEqual(
        page.items.map((q) => q.id),
        [second],
      );
      assert.ok(page.next);
      assert.deepEqual(
        (await store.listQuarantine(10, page.next!)).items.map((q) => q.id),
        [first],
      );
      const kept = (await store.getQuarantined(second))!;
      assert.equal(kept.body.byteLength, 100_000);
      await store.markReleased(first, 'evX');
      assert.equal((await store.getQuarantined(first))!.releasedAs, 'evX');
      assert.equal(await store.getQuarantined('q999999999999999'), null);
    },
  },
  {
    name: 'lists events newest first with filters and a cursor',
    async run(store) {
      const made = [
        event({ receivedAt: T0 + 1, instance: '7', targets: ['a'] }),
        event({
          receivedAt: T0 + 2,
          type: 'com.green-api.message.status',
          subject: '79990000000@c.us',
          targets: ['b'],
        }),
        event({ receivedAt: T0 + 3, type: 'com.green-api.instance.state', subject: null, targets: [] }),
      ];
      for (const e of made) await store.ingest(e);
      const ids = async (query: Omit<Parameters<Store['listEvents']>[0], 'limit'>) =>
        (await store.listEvents({ limit: 50, since: T0 + 1, until: T0 + 4, ...query })).items.map((e) => e.id);
      assert.deepEqual(await ids({}), [made[2]!.id, made[1]!.id, made[0]!.id]);
      assert.deepEqual(await ids({ type: 'com.green-api.message.*' }), [made[1]!.id, made[0]!.id]);
      assert.deepEqual(await ids({ type: 'com.green-api.instance.state' }), [made[2]!.id]);
      assert.deepEqual(await ids({ instance: '7' }), [made[0]!.id]);
      assert.deepEqual(await ids({ chat: '79990000000@c.us' }), [made[1]!.id]);
      assert.deepEqual(await ids({ target: 'b' }), [made[1]!.id]);
      assert.deepEqual(await ids({ status: 'pending', target: 'a' }), [made[0]!.id]);
      assert.deepEqual(await ids({ until: T0 + 2 }), [made[0]!.id]);
      const first = await store.listEvents({ limit: 2, since: T0 + 1, until: T0 + 4 });
      assert.deepEqual(
        first.items.map((e) => e.id),
        [made[2]!.id, made[1]!.id],
      );
      const rest = await store.listEvents({ limit: 2, since: T0 + 1, until: T0 + 4, cursor: first.next! });
      assert.deepEqual(
        rest.items.map((e) => e.id),
        [made[0]!.id],
      );
      assert.equal(rest.next, null);
    },
  },
  {
    name: 'prunes settled events past retention, and keeps dead and pending ones',
    async run(store) {
      const settled = event({ targets: ['a'], receivedAt: T0 - 10_000_000 });
      const dead = event({ targets: ['a'], receivedAt: T0 - 10_000_000 });
      const fresh = event({ targets: [], receivedAt: T0 });
      for (const e of [settled, dead, fresh]) await store.ingest(e);
      for (const d of await claimAll(store, T0 - 10_000_000))
        await store.record(attempt(d, d.eventId === settled.id ? 'delivered' : 'dead', T0 - 10_000_000));
      assert.ok((await store.prune(T0)) >= 1);
      assert.equal(await store.getEvent(settled.id), null);
      assert.ok(await store.getEvent(dead.id));
      assert.ok(await store.getEvent(fresh.id));
    },
  },
  {
    name: 'with per-chat ordering, claims only the oldest pending delivery of each chat, and a dead one lets the next go',
    async run(store) {
      const first = event({ targets: ['o'], subject: 'x@c.us', receivedAt: T0 });
      const second = event({ targets: ['o'], subject: 'x@c.us', receivedAt: T0 + 1 });
      const other = event({ targets: ['o'], subject: 'y@c.us', receivedAt: T0 + 2 });
      for (const e of [first, second, other]) await store.ingest(e);
      const ordered = (now: number) => store.claim([{ target: 'o', limit: 10, leaseMs: LEASE, perChat: true }], now);
      const claimed = await ordered(T0 + 10);
      assert.deepEqual(claimed.map((d) => d.eventId).sort(), [first.id, other.id].sort());
      await store.record(
        attempt(
          claimed.find((d) => d.eventId === first.id)!,
          'retry',
          T0 + 10,
          T0 + 1_000,
        ),
      );
      assert.deepEqual(await ordered(T0 + 20), [], 'the second waits for the first, which waits for its retry');
      const [retried] = await ordered(T0 + 1_000);
      assert.equal(retried!.eventId, first.id);
      await store.record(attempt(retried!, 'dead', T0 + 1_000));
      assert.deepEqual(
        (await ordered(T0 + 1_001)).map((d) => d.eventId),
        [second.id],
      );
    },
  },
  {
    name: 'counts deliveries and attempts per target',
    async run(store) {
      await store.ingest(event({ targets: ['stats'] }));
      await store.ingest(event({ targets: ['stats'] }));
      const claimed = await claimAll(store, T0, 'stats');
      await store.record(attempt(claimed[0]!, 'delivered', T0));
      await store.record(attempt(claimed[1]!, 'dead', T0 + 1));
      const stats = (await store.targetStats(T0 - 1)).find((t) => t.target === 'stats')!;
      assert.deepEqual(
        { ...stats, lastErrorAt: stats.lastErrorAt !== null },
        {
          target: 'stats',
          pending: 0,
          dead: 1,
          delivered: 1,
          attempts: 2,
          succeeded: 1,
          lastError: 'HTTP 500',
          lastErrorAt: true,
        },
      );
    },
  },
  {
    name: 'records a held attempt without spending a retry: the delivery keeps its place and its attempt count',
    async run(store) {
      const e = event({ targets: ['h'] });
      await store.ingest(e);
      const [d] = await store.claim([{ target: 'h', limit: 1, leaseMs: LEASE }], T0);
      await store.record({ ...attempt(d!, 'retry', T0, T0), outcome: 'held' });
      const [again] = await store.claim([{ target: 'h', limit: 1, leaseMs: LEASE }], T0 + 1);
      assert.equal(again!.attempt, 1, 'the held attempt spent nothing');
      const detail = (await store.getEvent(e.id))!;
      assert.deepEqual(
        detail.attempts.map((a) => a.outcome),
        ['held'],
      );
      assert.equal(detail.deliveries[0]!.status, 'pending');
    },
  },
  {
    name: 'keeps target states with compare-and-set, and pauses whatever the circuit says',
    async run(store) {
      const target = `t${serial++}`;
      const closed = {
        target,
        version: 0,
        paused: false,
        pausedAt: null,
        openedAt: null,
        failures: 3,
        probeAt: null,
        probes: 0,
        lastError: 'HTTP 503',
        updatedAt: T0,
      };
      assert.equal(await store.saveTargetState(closed), true);
      assert.equal(await store.saveTargetState(closed), false, 'an older version loses');
      const [saved] = (await store.targetStates()).filter((s) => s.target === target);
      assert.equal(saved!.version, 1);
      assert.equal(saved!.failures, 3);
      const paused = await store.setTargetPaused(target, true, T0 + 5);
      assert.deepEqual([paused.paused, paused.pausedAt, paused.version], [true, T0 + 5, 2]);
      // A dispatcher's write keeps the operator's pause.
      assert.equal(
        await store.saveTargetState({ ...saved!, version: 2, paused: false, openedAt: T0 + 6, probeAt: T0 + 7 }),
        true,
      );
      const [open] = (await store.targetStates()).filter((s) => s.target === target);
      assert.deepEqual([open!.paused, open!.openedAt, open!.probeAt, open!.version], [true, T0 + 6, T0 + 7, 3]);
      assert.equal(
        (await store.setTargetPaused(target, true, T0 + 7)).pausedAt,
        T0 + 5,
        'pausing again keeps the first time',
      );
      const resumed = await store.setTargetPaused(target, false, T0 + 8);
      assert.deepEqual([resumed.paused, resumed.pausedAt, resumed.openedAt], [false, null, T0 + 6]);
    },
  },
  {
    name: 'ends holds: pending deliveries of a target not touched since a time become dead',
    async run(store) {
      const old = event({ targets: ['x'], receivedAt: T0 });
      const recent = event({ targets: ['x'], receivedAt: T0 + 10_000 });
      for (const e of [old, recent]) await store.ingest(e);
      assert.equal(await store.expireHeld('x', T0 + 5_000, 'held too long', T0 + 20_000), 1);
      assert.equal((await store.getEvent(old.id))!.deliveries[0]!.status, 'dead');
      assert.equal((await store.getEvent(old.id))!.deliveries[0]!.lastError, 'held too long');
      assert.equal((await store.getEvent(recent.id))!.deliveries[0]!.status, 'pending');
    },
  },
  {
    name: 'counts grouped alerts, hands over those whose interval has passed once, and keeps small values',
    async run(store) {
      await store.countAlert('dead:a', T0, 'HTTP 500');
      await store.countAlert('dead:a', T0 + 10, 'HTTP 502', 2);
      await store.countAlert('quarantined', T0 + 100, 'not JSON');
      const first = await store.takeAlertCounts(T0 + 50);
      assert.deepEqual(
        first.taken.map((c) => [c.key, c.count, c.firstAt, c.lastAt, c.sample]),
        [['dead:a', 3, T0, T0 + 10, 'HTTP 502']],
      );
      assert.equal(first.next, T0 + 100);
      assert.deepEqual((await store.takeAlertCounts(T0 + 50)).taken, []);
      assert.deepEqual(
        (await store.takeAlertCounts(T0 + 200)).taken.map((c) => c.key),
        ['quarantined'],
      );
      assert.equal(await store.readState('k'), null);
      await store.writeState('k', 'v1', T0);
      await store.writeState('k', 'v2', T0 + 1);
      assert.equal(await store.readState('k'), 'v2');
    },
  },
  {
    name: 'counts events received and attempts made per bucket, for the charts',
    async run(store) {
      const e = event({ targets: ['chart'], receivedAt: T0 + 120_000 });
      await store.ingest(e);
      const [d] = await store.claim([{ target: 'chart', limit: 1, leaseMs: LEASE }], T0 + 120_000);
      await store.record(attempt(d!, 'delivered', T0 + 125_000));
      const activity = await store.activity(T0 + 60_000, 60_000);
      const bucket = Math.floor((T0 + 120_000) / 60_000) * 60_000;
      assert.ok(activity.received.some((r) => r.at === bucket && r.count >= 1));
      assert.ok(
        activity.attempts.some(
          (a) => a.at === bucket && a.target === 'chart' && a.outcome === 'delivered' && a.count === 1,
        ),
      );
      assert.ok(activity.received.every((r) => r.at >= T0));
    },
  },
];
