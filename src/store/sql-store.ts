// The Store on SQL, written once as plans (sql-plan.ts) so that the SQLite runtimes (Node,
// Workers, Deno self-hosted) and Postgres share it; the schema below is SQLite's (Postgres has its
// own in postgres/schema.ts, the same tables). Times are epoch milliseconds.
import type { CommitPace } from './batch.ts';
import type { SqlDriver } from './sql-driver.ts';
import { all, run, type Plan, type SqlRunner } from './sql-plan.ts';
import { sqliteRunner } from './sqlite-runner.ts';
import { createSqlOperatorStore } from './sql-operator-store.ts';
import { preview } from '../event-preview.ts';
import { attemptsAfter, chatKey, quarantineId, STATUS_AFTER } from './rules.ts';
import { CONTROL_SCHEMA, createSqlControlStore } from './sql-control-store.ts';
import { createSqlMediaStore, insertMedia, MEDIA_SCHEMA, mediaOfEvents, WAITING } from './sql-media-store.ts';
import type {
  AttemptRecord,
  ClaimedDelivery,
  ClaimRequest,
  IngestLease,
  LeasedIngest,
  NewEvent,
  QuarantinedBody,
  Store,
} from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id           TEXT PRIMARY KEY,
  instance     TEXT NOT NULL,
  type         TEXT NOT NULL,
  subject      TEXT,
  received_at  INTEGER NOT NULL,
  preview      TEXT,                      -- the line lists show, made at ingest (see migrate)
  recovered    INTEGER NOT NULL DEFAULT 0, -- 1: rebuilt from Green API's journal (see migrate)
  attributes   TEXT NOT NULL,
  data         TEXT NOT NULL,
  body         BLOB NOT NULL,
  duplicates   INTEGER NOT NULL DEFAULT 0,
  last_seen_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_received_at ON events (received_at);

CREATE TABLE IF NOT EXISTS deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id    TEXT NOT NULL,
  target      TEXT NOT NULL,
  chat        TEXT,                       -- instance/chat id, for per-chat ordering
  status      TEXT NOT NULL,              -- pending | delivered | dead
  series      INTEGER NOT NULL DEFAULT 0, -- replays so far
  attempts    INTEGER NOT NULL DEFAULT 0, -- attempts made in this series
  next_at     INTEGER NOT NULL,           -- when it is due (or its lease ends)
  leased      INTEGER NOT NULL DEFAULT 0, -- 1 while a dispatcher is sending it
  last_status INTEGER,
  last_error  TEXT,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (target, next_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_chat ON deliveries (target, chat, id) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS attempts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL,
  event_id    TEXT NOT NULL,
  target      TEXT NOT NULL,
  series      INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  latency_ms  INTEGER NOT NULL,
  status_code INTEGER,
  error       TEXT,
  outcome     TEXT NOT NULL               -- delivered | retry | dead | held
);
-- By delivery, not by event: delivery ids grow with time, so new entries go at the end of the
-- index instead of onto a random page per attempt (event ids are hashes). Files made before
-- this change have attempts_event, dropped here.
DROP INDEX IF EXISTS attempts_event;
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id);

CREATE TABLE IF NOT EXISTS quarantine (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at  INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  instance     TEXT,
  content_type TEXT,
  body         BLOB NOT NULL,
  released_as  TEXT                       -- the event id, once an operator released it
);
`;

const PRUNE_BATCH = 500;

/**
 * What a file made by an earlier version lacks: the recovered column (nothing was recovered then),
 * and the preview column (lists used to derive it from `data` with json_extract on every read),
 * filled once here for the rows it finds.
 */
function migrate(db: SqlDriver): void {
  const columns = db.all<{ name: string }>('PRAGMA table_info(events)');
  if (!columns.some((c) => c.name === 'recovered'))
    db.exec('ALTER TABLE events ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0');
  if (columns.some((c) => c.name === 'preview')) return;
  db.exec('ALTER TABLE events ADD COLUMN preview TEXT');
  const rows = db.all<{
    id: string;
    kind: string | null;
    text: string | null;
    status: string | null;
    state: string | null;
  }>(
    `SELECT id, json_extract(data, '$.message.kind') AS kind, json_extract(data, '$.message.text') AS text,
       json_extract(data, '$.status.value') AS status, json_extract(data, '$.state') AS state FROM events`,
  );
  db.transaction(() =>
    rows.forEach((row) => db.run('UPDATE events SET preview = ? WHERE id = ?', [preview(row), row.id])),
  );
}

export interface SqlStoreOptions {
  /** An event id seen again within this window is a duplicate. */
  dedupWindowMs: number;
  /** Settled events older than this are deleted by `prune`. */
  retentionMs: number;
  /** When a group commit runs; the sooner after the turn's I/O, the shorter the answer (see batch.ts). */
  pace?: CommitPace;
}

export interface SqlStore extends Store {
  /**
   * Ingests as `ingest` does, with the deliveries to `lease.targets` leased until `lease.until`
   * in the same commit: a dispatcher beside the store sends them without claiming them (Node's
   * store thread). Only a store with one owner has it, since nobody else could want the lease;
   * an event with files to archive is never leased (its targets may wait for them).
   */
  ingestLeased?(event: NewEvent, lease: IngestLease): Promise<LeasedIngest>;
}

/** Creates the SQLite tables if needed and returns the Store over them. */
export function createSqlStore(db: SqlDriver, options: SqlStoreOptions): SqlStore {
  db.exec(SCHEMA);
  db.exec(CONTROL_SCHEMA);
  db.exec(MEDIA_SCHEMA);
  migrate(db);
  return createSqlStoreOn(sqliteRunner(db, options.pace), options);
}

/** The Store over tables that exist, whatever the database behind `sql`. */
export function createSqlStoreOn(sql: SqlRunner, options: Omit<SqlStoreOptions, 'pace'>): SqlStore {
  const { each, holder } = sql.dialect;

  /** One event: a duplicate within the window only counts as seen; otherwise the event and its deliveries. */
  function* ingestOne(event: NewEvent, lease?: IngestLease): Plan<LeasedIngest> {
    /** What one occurrence of the event writes: received_at, preview, recovered, attributes, data, body. */
    const occurrence = [
      event.receivedAt,
      event.preview,
      event.recovered ? 1 : 0,
      event.attributes,
      event.data,
      event.body,
    ];
    // One statement for a new event, the common case; a conflict is exact even between relays
    // (Postgres makes the second insert wait for the first one's commit).
    const inserted = yield* all(
      `INSERT INTO events (id, instance, type, subject, received_at, preview, recovered, attributes, data, body, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, event.instance, event.type, event.subject, ...occurrence, event.receivedAt],
    );
    if (inserted.length === 0) {
      const seen = yield* run(
        'UPDATE events SET duplicates = duplicates + 1, last_seen_at = ? WHERE id = ? AND ? - received_at < ?',
        [event.receivedAt, event.id, event.receivedAt, options.dedupWindowMs],
      );
      if (seen > 0) return { status: 'duplicate', leased: [] };
      // Seen before the window began (only possible when retention outlasts it): a new occurrence.
      yield* run(
        `UPDATE events SET received_at = ?, preview = ?, recovered = ?, attributes = ?, data = ?, body = ?, duplicates = 0, last_seen_at = ?
         WHERE id = ?`,
        [...occurrence, event.receivedAt, event.id],
      );
    }
    let leased: LeasedIngest['leased'] = [];
    if (event.targets.length > 0 && lease && lease.targets.length > 0 && !event.media?.length) {
      // SQLite's JSON (only a store with one owner leases here): [target, 1 when leased] pairs.
      const rows = yield* all<{ id: number; target: string; leased: number }>(
        `INSERT INTO deliveries (event_id, target, chat, status, next_at, leased, updated_at)
         SELECT ?, value ->> 0, ?, 'pending', CASE WHEN value ->> 1 THEN ? ELSE ? END, value ->> 1, ? FROM json_each(?)
         RETURNING id, target, leased`,
        [
          event.id,
          chatKey(event.instance, event.subject),
          lease.until,
          event.receivedAt,
          event.receivedAt,
          JSON.stringify(event.targets.map((target) => [target, lease.targets.includes(target) ? 1 : 0])),
        ],
      );
      leased = rows.filter((row) => row.leased).map((row) => ({ ref: row.id, target: row.target }));
    } else if (event.targets.length > 0) {
      // Targets that take archived files wait for them (sql-media-store.ts WAITING).
      const waiting = event.media?.length ? (event.waitFor ?? []) : [];
      yield* run(
        `INSERT INTO deliveries (event_id, target, chat, status, next_at, updated_at)
         SELECT ?, value, ?, 'pending', CASE WHEN value IN (SELECT value FROM ${each}) THEN ? ELSE ? END, ? FROM ${each}`,
        [
          event.id,
          chatKey(event.instance, event.subject),
          JSON.stringify(waiting),
          WAITING,
          event.receivedAt,
          event.receivedAt,
          JSON.stringify(event.targets),
        ],
      );
    }
    yield* insertMedia(event);
    return { status: 'accepted', leased };
  }

  function* recordOne(a: AttemptRecord): Plan<void> {
    const id = Number(a.ref);
    yield* run(
      `INSERT INTO attempts (delivery_id, event_id, target, series, attempt, started_at, latency_ms, status_code, error, outcome)
       VALUES (?, ?, ?, COALESCE((SELECT series FROM deliveries WHERE id = ?), 0), ?, ?, ?, ?, ?, ?)`,
      [id, a.eventId, a.target, id, a.attempt, a.startedAt, a.latencyMs, a.statusCode, a.error, a.outcome],
    );
    const settledAt = a.startedAt + a.latencyMs;
    // Where relays share the store, a relay whose lease ran out (a long pause) and whose delivery
    // another relay took meanwhile records its attempt, but no longer moves the delivery.
    yield* run(
      `UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, leased = 0, last_status = ?, last_error = ?, updated_at = ?
       WHERE id = ?${holder === null ? '' : ' AND holder = ?'}`,
      [
        STATUS_AFTER[a.outcome],
        attemptsAfter(a),
        a.nextAt ?? settledAt,
        a.statusCode,
        a.error,
        settledAt,
        id,
        ...(holder === null ? [] : [holder]),
      ],
    );
  }

  function* claimAll(requests: ClaimRequest[], now: number): Plan<ClaimedDelivery[]> {
    const claimed: Omit<ClaimedDelivery, 'attributes' | 'data' | 'body'>[] = [];
    for (const { target, limit, leaseMs, perChat, media } of requests) {
      // Per-chat: a delivery waits while an older one of its chat is pending (due, retrying or
      // in flight). Deliveries are numbered in the order they were stored, which is Green API's.
      const where = perChat
        ? `AND (d.chat IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries p
             WHERE p.target = d.target AND p.chat = d.chat AND p.status = 'pending' AND p.id < d.id))`
        : '';
      const rows = yield* sql.dialect.claimDeliveries({ target, now, limit, leaseEnd: now + leaseMs, where });
      if (rows.length === 0) continue;
      const files = media
        ? yield* mediaOfEvents(
            rows.map((row) => row.event_id),
            each,
          )
        : null;
      for (const row of rows)
        claimed.push({
          ref: row.id,
          eventId: row.event_id,
          target,
          attempt: row.attempts + 1,
          ...(files ? { media: files.get(row.event_id) ?? [] } : {}),
        });
    }
    if (claimed.length === 0) return [];
    // An event's texts once, however many of its targets were claimed: the deliveries share them.
    const texts = new Map(
      (yield* all<{ id: string; attributes: string; data: string; body: Uint8Array }>(
        `SELECT id, attributes, data, body FROM events WHERE id IN (SELECT value FROM ${each})`,
        [JSON.stringify([...new Set(claimed.map((d) => d.eventId))])],
      )).map((row) => [row.id, row]),
    );
    return claimed.map((d) => {
      const { attributes, data, body } = texts.get(d.eventId)!;
      return { ...d, attributes, data, body };
    });
  }

  function* pruneBatch(now: number): Plan<number> {
    const ids = yield* all<{ id: string }>(
      `SELECT id FROM events e WHERE received_at < ?
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status != 'delivered')
       LIMIT ?`,
      [now - options.retentionMs, PRUNE_BATCH],
    );
    if (ids.length === 0) return 0;
    const list = JSON.stringify(ids.map((row) => row.id));
    yield* run(
      `DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (SELECT value FROM ${each}))`,
      [list],
    );
    yield* run(`DELETE FROM deliveries WHERE event_id IN (SELECT value FROM ${each})`, [list]);
    return yield* run(`DELETE FROM events WHERE id IN (SELECT value FROM ${each})`, [list]);
  }

  return {
    ...createSqlOperatorStore(sql),
    ...createSqlControlStore(sql),
    ...createSqlMediaStore(sql),

    quarantine: (q: QuarantinedBody) =>
      sql.read(function* () {
        const [row] = yield* all<{ id: number }>(
          'INSERT INTO quarantine (received_at, reason, instance, content_type, body) VALUES (?, ?, ?, ?, ?) RETURNING id',
          [q.receivedAt, q.reason, q.instance, q.contentType, q.body],
        );
        return quarantineId(row!.id);
      }),

    // Group commit (see batch.ts): the ingests, attempt records and claims of one event-loop turn
    // share one transaction, so one wait for the disk. A failed commit fails every write of its
    // batch, none half-done.
    ingest: (event) =>
      sql.batched(function* () {
        return (yield* ingestOne(event)).status;
      }),
    ...(holder === null
      ? { ingestLeased: (event: NewEvent, lease: IngestLease) => sql.batched(() => ingestOne(event, lease)) }
      : {}),
    // A lease or an attempt lost to a power cut only means a delivery is sent again.
    claim: (requests, now) => sql.batched(() => claimAll(requests, now), false),
    record: (attempt) => sql.batched(() => recordOne(attempt), false),

    // One owner: whatever is leased was left by its previous run. Several relays: only this
    // relay's own leases (a restarted relay of the same name); the others' end by themselves.
    releaseClaims: (now) =>
      sql.read(function* () {
        const mine = holder === null ? '' : ' AND holder = ?';
        const params = holder === null ? [now] : [now, holder];
        yield* run(`UPDATE media SET leased = 0, next_at = ? WHERE leased = 1 AND status = 'pending'${mine}`, params);
        return yield* run(
          `UPDATE deliveries SET leased = 0, next_at = ? WHERE leased = 1 AND status = 'pending'${mine}`,
          params,
        );
      }),

    nextDueAt: (targets) =>
      sql.read(function* () {
        if (targets.length === 0) return null;
        const [row] = yield* all<{ next: number | null }>(
          `SELECT MIN(next_at) AS next FROM deliveries WHERE status = 'pending' AND next_at < ? AND target IN (SELECT value FROM ${each})`,
          [WAITING, JSON.stringify(targets)],
        );
        return row?.next ?? null;
      }),

    async prune(now) {
      let pruned = 0;
      for (;;) {
        const deleted = await sql.transaction(() => pruneBatch(now));
        pruned += deleted;
        if (deleted < PRUNE_BATCH) return pruned;
      }
    },

    ping: () =>
      sql.read(function* () {
        yield* all('SELECT 1 FROM events LIMIT 0');
      }),
  };
}
