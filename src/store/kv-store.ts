// The Store on Deno KV (https://docs.deno.com/deploy/kv/manual/), for Deno Deploy, which has no
// filesystem for SQLite. The same contract as the SQL store (test/store/contract.ts checks both).
//
// KV values are at most 64 KiB, so an event's JSON texts and its body are kept in chunks beside a
// small record, written before the atomic commit that makes the event exist. Indexes are keys:
//   ['e', id]                      the event record        ['et', id, i] / ['eb', id, i]  texts / body chunks
//   ['t', receivedAt, id]          events by time          ['d', id, target]              a delivery
//   ['due', target, at, id]        pending, by due time (a lease is a due time too)
//   ['leased', target, id]         in flight               ['dead', target, id]           dead letters
//   ['a', id, startedAt, n]        attempts                ['q', n] / ['qb', n, i]        quarantine
//   ['cq', target, chat, receivedAt, id]   pending deliveries of a chat, oldest first (per-chat ordering)
import { concatBytes } from '../bytes.ts';
import { typeMatcher } from '../event.ts';
import { createKvControlStore } from './kv-control-store.ts';
import {
  chatKey,
  decodeCursor,
  deliveryState,
  encodeCursor,
  quarantineId,
  quarantineNumber,
  STATUS_AFTER,
  attemptsAfter,
} from './rules.ts';
import type {
  AttemptRecord,
  AttemptRow,
  ClaimedDelivery,
  DeliveryState,
  DeliveryStatus,
  EventDetail,
  EventSummary,
  NewEvent,
  QuarantineSummary,
  Store,
  TargetStats,
} from './store.ts';

/** The part of Deno's Kv that the store uses (kept small, so that the core needs no Deno types). */
export interface Kv {
  get<T>(key: KvKey): Promise<{ value: T | null; versionstamp: string | null }>;
  set(key: KvKey, value: unknown): Promise<unknown>;
  list<T>(
    selector: KvSelector,
    options?: { limit?: number; reverse?: boolean },
  ): AsyncIterable<{ key: KvKey; value: T; versionstamp: string }>;
  atomic(): KvAtomic;
}
export interface KvAtomic {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomic;
  set(key: KvKey, value: unknown): KvAtomic;
  delete(key: KvKey): KvAtomic;
  commit(): Promise<{ ok: boolean }>;
}
export type KvKey = readonly (string | number | bigint | boolean | symbol | Uint8Array)[];
type KvSelector =
  { prefix: KvKey } | { prefix: KvKey; start: KvKey } | { prefix: KvKey; end: KvKey } | { start: KvKey; end: KvKey };

/** What the event's key holds: its summary without the deliveries, which have keys of their own. */
type EventRecord = Omit<EventSummary, 'deliveries'>;

interface DeliveryRecord {
  eventId: string;
  target: string;
  /** instance/chat id, or null: the order key of per-chat ordering, with `position`. */
  chat: string | null;
  /** When its event was received: its place in its chat's order. */
  position: number;
  status: DeliveryStatus;
  series: number;
  attempts: number;
  nextAt: number;
  leased: boolean;
  lastStatus: number | null;
  lastError: string | null;
  updatedAt: number;
}

interface QuarantineRecord extends Omit<QuarantineSummary, 'id'> {
  n: number;
}

/** Under KV's 64 KiB value limit, with room for the key. */
const CHUNK_BYTES = 60_000;
/** Chunks written per atomic operation (its total size is limited to 800 KiB). */
const CHUNKS_PER_WRITE = 10;
/** How often a commit that lost a race is tried again. */
const RETRIES = 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface KvStoreOptions {
  dedupWindowMs: number;
  retentionMs: number;
}

export function createKvStore(kv: Kv, options: KvStoreOptions): Store {
  let quarantineCounter = 0;

  async function writeChunks(prefix: string, id: string | number, bytes: Uint8Array): Promise<number> {
    const count = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES));
    for (let first = 0; first < count; first += CHUNKS_PER_WRITE) {
      const op = kv.atomic();
      for (let i = first; i < Math.min(count, first + CHUNKS_PER_WRITE); i++)
        op.set([prefix, id, i], bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
      if (!(await op.commit()).ok) throw new Error('KV write failed');
    }
    return count;
  }

  async function readChunks(prefix: string, id: string | number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const entry of kv.list<Uint8Array>({ prefix: [prefix, id] })) parts.push(entry.value);
    return concatBytes(parts);
  }

  async function collect<T>(selector: Parameters<Kv['list']>[0], options?: { limit?: number; reverse?: boolean }) {
    const entries: { key: KvKey; value: T; versionstamp: string }[] = [];
    for await (const entry of kv.list<T>(selector, options)) entries.push(entry);
    return entries;
  }

  /** Reads, changes and writes back one delivery until no one else changed it in between. */
  async function updateDelivery(
    eventId: string,
    target: string,
    change: (d: DeliveryRecord | null, op: KvAtomic) => DeliveryRecord | null,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const key = ['d', eventId, target];
      const current = await kv.get<DeliveryRecord>(key);
      const op = kv.atomic().check({ key, versionstamp: current.versionstamp });
      const next = change(current.value, op);
      if (!next) return false;
      const old = current.value;
      if (old?.status === 'pending') op.delete(['due', target, old.nextAt, eventId]);
      if (old?.leased) op.delete(['leased', target, eventId]);
      if (old?.status === 'dead') op.delete(['dead', target, eventId]);
      if (old?.status === 'pending' && old.chat !== null) op.delete(['cq', target, old.chat, old.position, eventId]);
      if (next.status === 'pending') op.set(['due', target, next.nextAt, eventId], true);
      if (next.status === 'pending' && next.chat !== null)
        op.set(['cq', target, next.chat, next.position, eventId], true);
      if (next.leased) op.set(['leased', target, eventId], true);
      if (next.status === 'dead') op.set(['dead', target, eventId], true);
      op.set(key, next);
      if ((await op.commit()).ok) return true;
    }
    throw new Error(`KV: delivery ${eventId} to ${target} kept changing`);
  }

  async function loadEvent(
    id: string,
  ): Promise<{ record: EventRecord; attributes: string; data: string; body: Uint8Array } | null> {
    const { value: record } = await kv.get<EventRecord>(['e', id]);
    if (!record) return null;
    const texts = JSON.parse(decoder.decode(await readChunks('et', id))) as { attributes: string; data: string };
    return { record, ...texts, body: await readChunks('eb', id) };
  }

  async function deliveriesOf(id: string): Promise<DeliveryState[]> {
    return (await collect<DeliveryRecord>({ prefix: ['d', id] })).map(({ value: d }) =>
      deliveryState({
        target: d.target,
        status: d.status,
        attempts: d.attempts,
        series: d.series,
        leased: d.leased,
        nextAt: d.nextAt,
        lastStatus: d.lastStatus,
        lastError: d.lastError,
        updatedAt: d.updatedAt,
      }),
    );
  }

  const summary = async (record: EventRecord): Promise<EventSummary> => ({
    ...record,
    // Records written before reconciliation existed have no flag.
    recovered: record.recovered === true,
    deliveries: await deliveriesOf(record.id),
  });

  async function makeDue(record: EventRecord, target: string, now: number): Promise<boolean> {
    return updateDelivery(record.id, target, (d) => {
      if (d?.leased) return null;
      return {
        eventId: record.id,
        target,
        chat: chatKey(record.instance, record.subject),
        position: record.receivedAt,
        status: 'pending',
        series: d ? d.series + 1 : 0,
        attempts: 0,
        nextAt: now,
        leased: false,
        lastStatus: d?.lastStatus ?? null,
        lastError: d?.lastError ?? null,
        updatedAt: now,
      };
    });
  }

  /** True when no older delivery of its chat is pending for this target. */
  async function firstOfItsChat(d: DeliveryRecord): Promise<boolean> {
    if (d.chat === null) return true;
    for await (const { key } of kv.list({ prefix: ['cq', d.target, d.chat] }, { limit: 1 }))
      return key[4] === d.eventId;
    return true;
  }

  return {
    // The media archive is not offered on Deno KV (README: files need a place of their own, and
    // KV's 64 KiB values would hold them only as many chunks); the relay refuses to start with it.
    getMedia: async () => [],
    claimMedia: async () => [],
    nextMediaDueAt: async () => null,
    takeOrphanMedia: async () => [],
    async recordMedia() {
      throw new Error('the media archive is not offered on the Deno KV store');
    },

    async ingest(event: NewEvent) {
      if (event.media?.length) throw new Error('the media archive is not offered on the Deno KV store');
      const key = ['e', event.id];
      let stored = false;
      for (let attempt = 0; attempt < RETRIES; attempt++) {
        const existing = await kv.get<EventRecord>(key);
        const seen = existing.value;
        if (seen && event.receivedAt - seen.receivedAt < options.dedupWindowMs) {
          const counted = await kv
            .atomic()
            .check({ key, versionstamp: existing.versionstamp })
            .set(key, { ...seen, duplicates: seen.duplicates + 1 })
            .commit();
          if (counted.ok) return 'duplicate';
          continue;
        }
        // The chunks first: the event exists only once the commit below names it.
        if (!stored) {
          await writeChunks(
            'et',
            event.id,
            encoder.encode(JSON.stringify({ attributes: event.attributes, data: event.data })),
          );
          await writeChunks('eb', event.id, event.body);
          stored = true;
        }
        const record: EventRecord = {
          id: event.id,
          instance: event.instance,
          type: event.type,
          subject: event.subject,
          receivedAt: event.receivedAt,
          duplicates: 0,
          preview: event.preview,
          recovered: event.recovered === true,
        };
        const op = kv
          .atomic()
          .check({ key, versionstamp: existing.versionstamp })
          .set(key, record)
          .set(['t', event.receivedAt, event.id], true);
        if (seen) op.delete(['t', seen.receivedAt, event.id]);
        const chat = chatKey(record.instance, record.subject);
        for (const target of event.targets) {
          const delivery: DeliveryRecord = {
            eventId: event.id,
            target,
            chat,
            position: event.receivedAt,
            status: 'pending',
            series: 0,
            attempts: 0,
            nextAt: event.receivedAt,
            leased: false,
            lastStatus: null,
            lastError: null,
            updatedAt: event.receivedAt,
          };
          op.set(['d', event.id, target], delivery).set(['due', target, event.receivedAt, event.id], true);
          if (chat !== null) op.set(['cq', target, chat, event.receivedAt, event.id], true);
        }
        if ((await op.commit()).ok) return 'accepted';
      }
      throw new Error(`KV: event ${event.id} kept changing`);
    },

    async quarantine(q) {
      const n = q.receivedAt * 1000 + (quarantineCounter++ % 1000);
      await writeChunks('qb', n, q.body);
      const record: QuarantineRecord = {
        n,
        receivedAt: q.receivedAt,
        reason: q.reason,
        instance: q.instance,
        contentType: q.contentType,
        bytes: q.body.byteLength,
        releasedAs: null,
      };
      await kv.set(['q', n], record);
      return quarantineId(n);
    },

    async claim(requests, now) {
      const claimed: ClaimedDelivery[] = [];
      for (const { target, limit, leaseMs, perChat } of requests) {
        let taken = 0;
        for await (const { key } of kv.list({ start: ['due', target], end: ['due', target, now + 1] })) {
          if (taken === limit) break;
          const eventId = key[3] as string;
          if (perChat) {
            const { value } = await kv.get<DeliveryRecord>(['d', eventId, target]);
            if (!value || !(await firstOfItsChat(value))) continue;
          }
          let attempt = 0;
          const won = await updateDelivery(eventId, target, (d) => {
            if (!d || d.status !== 'pending' || d.nextAt > now) return null;
            attempt = d.attempts + 1;
            return { ...d, leased: true, nextAt: now + leaseMs };
          });
          const event = won ? await loadEvent(eventId) : null;
          // A KV delivery is named by its event and target; that is its handle too.
          if (event) {
            claimed.push({
              ref: JSON.stringify([eventId, target]),
              eventId,
              target,
              attempt,
              attributes: event.attributes,
              data: event.data,
              body: event.body,
            });
            taken++;
          }
        }
      }
      return claimed;
    },

    async record(a: AttemptRecord) {
      let series = 0;
      const settledAt = a.startedAt + a.latencyMs;
      const [eventId, target] = JSON.parse(String(a.ref)) as [string, string];
      await updateDelivery(eventId, target, (d) => {
        if (!d) return null;
        series = d.series;
        return {
          ...d,
          status: STATUS_AFTER[a.outcome],
          attempts: attemptsAfter(a),
          nextAt: a.nextAt ?? settledAt,
          leased: false,
          lastStatus: a.statusCode,
          lastError: a.error,
          updatedAt: settledAt,
        };
      });
      const row: AttemptRow = {
        target,
        series,
        attempt: a.attempt,
        startedAt: a.startedAt,
        latencyMs: a.latencyMs,
        statusCode: a.statusCode,
        error: a.error,
        outcome: a.outcome,
      };
      await kv.set(['a', eventId, a.startedAt, `${target}.${series}.${a.attempt}`], row);
    },

    async releaseClaims(now) {
      let released = 0;
      for (const { key } of await collect({ prefix: ['leased'] })) {
        const [, target, eventId] = key as [string, string, string];
        if (await updateDelivery(eventId, target, (d) => (d?.leased ? { ...d, leased: false, nextAt: now } : null)))
          released++;
      }
      return released;
    },

    async nextDueAt(targets) {
      let next: number | null = null;
      for (const target of targets) {
        for await (const { key } of kv.list({ prefix: ['due', target] }, { limit: 1 })) {
          const at = key[2] as number;
          if (next === null || at < next) next = at;
        }
      }
      return next;
    },

    async prune(now) {
      let pruned = 0;
      for (const { key } of await collect({ start: ['t'], end: ['t', now - options.retentionMs] }, { limit: 500 })) {
        const id = key[2] as string;
        const deliveries = await collect<DeliveryRecord>({ prefix: ['d', id] });
        if (deliveries.some((d) => d.value.status !== 'delivered')) continue;
        for (const prefix of ['et', 'eb', 'd', 'a'])
          for (const entry of await collect({ prefix: [prefix, id] })) await kv.atomic().delete(entry.key).commit();
        await kv.atomic().delete(['e', id]).delete(key).commit();
        pruned++;
      }
      return pruned;
    },

    ...createKvControlStore(kv),

    async expireHeld(target, before, error, now) {
      let expired = 0;
      for (const { key } of await collect({ prefix: ['due', target] })) {
        const eventId = key[3] as string;
        const done = await updateDelivery(eventId, target, (d) =>
          d && d.status === 'pending' && !d.leased && d.updatedAt < before
            ? { ...d, status: 'dead', lastError: error, updatedAt: now }
            : null,
        );
        if (done) expired++;
      }
      return expired;
    },

    async activity(since, bucketMs) {
      const bucket = (at: number) => Math.floor(at / bucketMs) * bucketMs;
      const received = new Map<number, number>();
      for await (const { key } of kv.list({ start: ['t', since], end: ['t', Number.MAX_SAFE_INTEGER] })) {
        const at = bucket(key[1] as number);
        received.set(at, (received.get(at) ?? 0) + 1);
      }
      const attempts = new Map<string, { at: number; target: string; outcome: AttemptRow['outcome']; count: number }>();
      for await (const { value: a } of kv.list<AttemptRow>({ prefix: ['a'] })) {
        if (a.startedAt < since) continue;
        const at = bucket(a.startedAt);
        const key = `${at}\n${a.target}\n${a.outcome}`;
        const entry = attempts.get(key) ?? { at, target: a.target, outcome: a.outcome, count: 0 };
        entry.count++;
        attempts.set(key, entry);
      }
      return {
        received: [...received].sort((a, b) => a[0] - b[0]).map(([at, count]) => ({ at, count })),
        attempts: [...attempts.values()].sort((a, b) => a.at - b.at),
      };
    },

    async ping() {
      await kv.get(['ping']);
    },

    async listEvents(query) {
      const cursor = query.cursor ? decodeCursor(query.cursor) : null;
      const end: KvKey = cursor
        ? ['t', cursor.receivedAt, cursor.id]
        : query.until !== undefined
          ? ['t', query.until]
          : ['t', Number.MAX_SAFE_INTEGER];
      const start: KvKey = query.since !== undefined ? ['t', query.since] : ['t'];
      const typeMatches = query.type ? typeMatcher(query.type) : null;
      const items: EventSummary[] = [];
      let more = false;
      for await (const { key } of kv.list({ start, end }, { reverse: true })) {
        const { value: record } = await kv.get<EventRecord>(['e', key[2] as string]);
        if (!record) continue;
        if (typeMatches && !typeMatches(record.type)) continue;
        if (query.instance && record.instance !== query.instance) continue;
        if (query.chat && record.subject !== query.chat) continue;
        const event = await summary(record);
        const relevant = query.target ? event.deliveries.filter((d) => d.target === query.target) : event.deliveries;
        if (query.target && relevant.length === 0) continue;
        if (query.status === 'delivered' && (relevant.length === 0 || relevant.some((d) => d.status !== 'delivered')))
          continue;
        if (query.status && query.status !== 'delivered' && !relevant.some((d) => d.status === query.status)) continue;
        if (items.length === query.limit) {
          more = true;
          break;
        }
        items.push(event);
      }
      const last = items.at(-1);
      return { items, next: more && last ? encodeCursor(last.receivedAt, last.id) : null };
    },

    async getEvent(id) {
      const event = await loadEvent(id);
      if (!event) return null;
      const attempts = (await collect<AttemptRow>({ prefix: ['a', id] })).map((entry) => entry.value);
      return {
        ...(await summary(event.record)),
        attributes: event.attributes,
        data: event.data,
        body: event.body,
        attempts,
      } satisfies EventDetail;
    },

    async replay(eventId, targets, now) {
      const { value: record } = await kv.get<EventRecord>(['e', eventId]);
      if (!record) return 0;
      let count = 0;
      for (const target of targets) if (await makeDue(record, target, now)) count++;
      return count;
    },

    async replayDead(target, now) {
      let count = 0;
      for (const { key } of await collect({ prefix: ['dead', target] })) {
        const { value: record } = await kv.get<EventRecord>(['e', key[2] as string]);
        if (record && (await makeDue(record, target, now))) count++;
      }
      return count;
    },

    async listQuarantine(limit, cursor) {
      const after = cursor ? decodeCursor(cursor) : null;
      const entries = await collect<QuarantineRecord>(
        after ? { start: ['q'], end: ['q', Number(after.id)] } : { prefix: ['q'] },
        { reverse: true, limit: limit + 1 },
      );
      const page = entries.slice(0, limit).map(({ value }) => quarantineSummary(value));
      const last = entries[limit - 1]?.value;
      return { items: page, next: entries.length > limit && last ? encodeCursor(last.receivedAt, last.n) : null };
    },

    async getQuarantined(id) {
      const n = quarantineNumber(id);
      if (n === null) return null;
      const { value } = await kv.get<QuarantineRecord>(['q', n]);
      return value ? { ...quarantineSummary(value), body: await readChunks('qb', n) } : null;
    },

    async markReleased(id, eventId) {
      const n = quarantineNumber(id);
      if (n === null) return;
      const { value } = await kv.get<QuarantineRecord>(['q', n]);
      if (value) await kv.set(['q', n], { ...value, releasedAs: eventId });
    },

    async targetStats(since) {
      const stats = new Map<string, TargetStats>();
      const of = (target: string) => {
        let s = stats.get(target);
        if (!s)
          stats.set(
            target,
            (s = {
              target,
              pending: 0,
              dead: 0,
              delivered: 0,
              attempts: 0,
              succeeded: 0,
              lastError: null,
              lastErrorAt: null,
            }),
          );
        return s;
      };
      for await (const { value: d } of kv.list<DeliveryRecord>({ prefix: ['d'] })) of(d.target)[d.status]++;
      for await (const { value: a } of kv.list<AttemptRow>({ prefix: ['a'] })) {
        const s = of(a.target);
        if (a.startedAt >= since) {
          s.attempts++;
          if (a.outcome === 'delivered') s.succeeded++;
        }
        if (a.error && a.startedAt >= (s.lastErrorAt ?? 0))
          Object.assign(s, { lastError: a.error, lastErrorAt: a.startedAt });
      }
      return [...stats.values()].sort((a, b) => a.target.localeCompare(b.target));
    },
  };
}

function quarantineSummary(q: QuarantineRecord): QuarantineSummary {
  return {
    id: quarantineId(q.n),
    receivedAt: q.receivedAt,
    reason: q.reason,
    instance: q.instance,
    contentType: q.contentType,
    bytes: q.bytes,
    releasedAs: q.releasedAs,
  };
}
