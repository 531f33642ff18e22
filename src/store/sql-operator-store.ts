// The operator side of the SQL store: listing and reading events, replaying deliveries, the
// quarantine, and per-target statistics. Same tables as sql-store.ts; none of this is on the
// answer path.
import { chatKey, decodeCursor, deliveryState, encodeCursor, quarantineId, quarantineNumber } from './rules.ts';
import type { SqlValue } from './sql-driver.ts';
import { all, run, type Plan, type SqlRunner } from './sql-plan.ts';
import type {
  AttemptRow,
  DeliveryState,
  DeliveryStatus,
  EventSummary,
  OperatorStore,
  QuarantineSummary,
} from './store.ts';

interface EventRow {
  id: string;
  instance: string;
  type: string;
  subject: string | null;
  received_at: number;
  duplicates: number;
  preview: string | null;
  recovered: number;
}

const EVENT_COLUMNS = 'e.id, e.instance, e.type, e.subject, e.received_at, e.duplicates, e.preview, e.recovered';

/** A delivery's row, as listings read it. */
export interface DeliveryRow {
  event_id: string;
  target: string;
  status: DeliveryStatus;
  attempts: number;
  series: number;
  leased: number;
  next_at: number;
  last_status: number | null;
  last_error: string | null;
  updated_at: number;
}

interface QuarantineRow {
  id: number;
  received_at: number;
  reason: string;
  instance: string | null;
  content_type: string | null;
  bytes: number;
  released_as: string | null;
}

const toDeliveryState = (row: DeliveryRow): DeliveryState =>
  deliveryState({
    target: row.target,
    status: row.status,
    attempts: row.attempts,
    series: row.series,
    leased: row.leased === 1,
    nextAt: row.next_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    updatedAt: row.updated_at,
  });

const eventSummary = (row: EventRow, deliveries: DeliveryState[]): EventSummary => ({
  id: row.id,
  instance: row.instance,
  type: row.type,
  subject: row.subject,
  receivedAt: row.received_at,
  duplicates: row.duplicates,
  preview: row.preview,
  recovered: row.recovered === 1,
  deliveries,
});

/** An attempt's row, as an event's history reads it. */
export interface AttemptColumns {
  target: string;
  series: number;
  attempt: number;
  started_at: number;
  latency_ms: number;
  status_code: number | null;
  error: string | null;
  outcome: AttemptRow['outcome'];
}

const quarantineSummary = (row: QuarantineRow): QuarantineSummary => ({
  id: quarantineId(row.id),
  receivedAt: row.received_at,
  reason: row.reason,
  instance: row.instance,
  contentType: row.content_type,
  bytes: row.bytes,
  releasedAs: row.released_as,
});

export function createSqlOperatorStore(sql: SqlRunner): OperatorStore {
  const { each } = sql.dialect;
  function* deliveriesOf(eventIds: string[]): Plan<Map<string, DeliveryState[]>> {
    const byEvent = new Map<string, DeliveryState[]>(eventIds.map((id) => [id, []]));
    if (eventIds.length === 0) return byEvent;
    const rows = yield* all<DeliveryRow>(
      `SELECT event_id, target, status, attempts, series, leased, next_at, last_status, last_error, updated_at
       FROM deliveries WHERE event_id IN (SELECT value FROM ${each}) ORDER BY id`,
      [JSON.stringify(eventIds)],
    );
    for (const row of rows) byEvent.get(row.event_id)?.push(toDeliveryState(row));
    return byEvent;
  }

  function makeDue(where: string, params: SqlValue[], now: number): Plan<number> {
    return run(
      `UPDATE deliveries SET status = 'pending', series = series + 1, attempts = 0, next_at = ?, leased = 0, updated_at = ?
       WHERE ${where} AND leased = 0`,
      [now, now, ...params],
    );
  }

  return {
    listEvents: (query) =>
      sql.read(function* () {
        const where: string[] = [];
        const params: SqlValue[] = [];
        if (query.type?.endsWith('.*')) {
          where.push('substr(e.type, 1, length(CAST(? AS TEXT))) = ?');
          const prefix = query.type.slice(0, -1);
          params.push(prefix, prefix);
        } else if (query.type) {
          where.push('e.type = ?');
          params.push(query.type);
        }
        if (query.instance) (where.push('e.instance = ?'), params.push(query.instance));
        if (query.chat) (where.push('e.subject = ?'), params.push(query.chat));
        if (query.since !== undefined) (where.push('e.received_at >= ?'), params.push(query.since));
        if (query.until !== undefined) (where.push('e.received_at < ?'), params.push(query.until));

        const ofTarget = query.target ? ' AND d.target = ?' : '';
        const targetParam = query.target ? [query.target] : [];
        if (query.status === 'delivered') {
          where.push(`EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id${ofTarget})`);
          where.push(
            `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status != 'delivered'${ofTarget})`,
          );
          params.push(...targetParam, ...targetParam);
        } else if (query.status) {
          where.push(`EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = ?${ofTarget})`);
          params.push(query.status, ...targetParam);
        } else if (query.target) {
          where.push('EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.target = ?)');
          params.push(query.target);
        }
        const cursor = query.cursor ? decodeCursor(query.cursor) : null;
        if (cursor) {
          where.push('(e.received_at < ? OR (e.received_at = ? AND e.id < ?))');
          params.push(cursor.receivedAt, cursor.receivedAt, cursor.id);
        }

        const rows = yield* all<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM events e
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY e.received_at DESC, e.id DESC LIMIT ?`,
          [...params, query.limit + 1],
        );
        const page = rows.slice(0, query.limit);
        const deliveries = yield* deliveriesOf(page.map((row) => row.id));
        const last = page.at(-1);
        return {
          items: page.map((row) => eventSummary(row, deliveries.get(row.id) ?? [])),
          next: rows.length > query.limit && last ? encodeCursor(last.received_at, last.id) : null,
        };
      }),

    getEvent: (id) =>
      sql.read(function* () {
        const [row] = yield* all<EventRow & { attributes: string; data: string; body: Uint8Array }>(
          `SELECT ${EVENT_COLUMNS}, e.attributes, e.data, e.body FROM events e WHERE e.id = ?`,
          [id],
        );
        if (!row) return null;
        const attempts = yield* all<AttemptColumns>(
          `SELECT target, series, attempt, started_at, latency_ms, status_code, error, outcome FROM attempts
         WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?) ORDER BY id`,
          [id],
        );
        return {
          ...eventSummary(row, (yield* deliveriesOf([id])).get(id) ?? []),
          attributes: row.attributes,
          data: row.data,
          body: row.body,
          attempts: attempts.map((a) => ({
            target: a.target,
            series: a.series,
            attempt: a.attempt,
            startedAt: a.started_at,
            latencyMs: a.latency_ms,
            statusCode: a.status_code,
            error: a.error,
            outcome: a.outcome,
          })),
        };
      }),

    replay: (eventId, targets, now) =>
      sql.transaction(function* () {
        const [event] = yield* all<{ instance: string; subject: string | null }>(
          'SELECT instance, subject FROM events WHERE id = ?',
          [eventId],
        );
        if (!event) return 0;
        let count = 0;
        for (const target of targets) {
          const made = yield* makeDue('event_id = ? AND target = ?', [eventId, target], now);
          if (made > 0) {
            count += made;
            continue;
          }
          const exists =
            (yield* all('SELECT 1 FROM deliveries WHERE event_id = ? AND target = ?', [eventId, target])).length > 0;
          if (!exists) {
            count += yield* run(
              `INSERT INTO deliveries (event_id, target, chat, status, next_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)`,
              [eventId, target, chatKey(event.instance, event.subject), now, now],
            );
          }
        }
        return count;
      }),

    replayDead: (target, now) => sql.read(() => makeDue("target = ? AND status = 'dead'", [target], now)),

    listQuarantine: (limit, cursor) =>
      sql.read(function* () {
        const after = cursor ? decodeCursor(cursor) : null;
        const rows = yield* all<QuarantineRow>(
          `SELECT id, received_at, reason, instance, content_type, length(body) AS bytes, released_as FROM quarantine
         ${after ? 'WHERE id < ?' : ''} ORDER BY id DESC LIMIT ?`,
          after ? [Number(after.id), limit + 1] : [limit + 1],
        );
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page.map(quarantineSummary),
          next: rows.length > limit && last ? encodeCursor(last.received_at, last.id) : null,
        };
      }),

    getQuarantined: (id) =>
      sql.read(function* () {
        const number = quarantineNumber(id);
        if (number === null) return null;
        const [row] = yield* all<QuarantineRow & { body: Uint8Array }>(
          'SELECT id, received_at, reason, instance, content_type, length(body) AS bytes, released_as, body FROM quarantine WHERE id = ?',
          [number],
        );
        return row ? { ...quarantineSummary(row), body: row.body } : null;
      }),

    markReleased: (id, eventId) =>
      sql.read(function* () {
        yield* run('UPDATE quarantine SET released_as = ? WHERE id = ?', [eventId, quarantineNumber(id)]);
      }),

    activity: (since, bucketMs) =>
      sql.read(function* () {
        const received = yield* all<{ at: number; count: number }>(
          'SELECT CAST(received_at / ? AS BIGINT) * ? AS at, COUNT(*) AS count FROM events WHERE received_at >= ? GROUP BY 1 ORDER BY 1',
          [bucketMs, bucketMs, since],
        );
        const attempts = yield* all<{ at: number; target: string; outcome: AttemptRow['outcome']; count: number }>(
          'SELECT CAST(started_at / ? AS BIGINT) * ? AS at, target, outcome, COUNT(*) AS count FROM attempts WHERE started_at >= ? GROUP BY 1, 2, 3 ORDER BY 1',
          [bucketMs, bucketMs, since],
        );
        return { received, attempts };
      }),

    targetStats: (since) =>
      sql.read(function* () {
        const counts = yield* all<{ target: string; status: DeliveryStatus; n: number }>(
          'SELECT target, status, COUNT(*) AS n FROM deliveries GROUP BY target, status',
        );
        const attempts = yield* all<{ target: string; n: number; ok: number }>(
          "SELECT target, COUNT(*) AS n, SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END) AS ok FROM attempts WHERE started_at >= ? GROUP BY target",
          [since],
        );
        const errors = yield* all<{ target: string; error: string; at: number }>(
          `SELECT a.target, a.error, a.started_at AS at FROM attempts a
         JOIN (SELECT MAX(id) AS id FROM attempts WHERE error IS NOT NULL GROUP BY target) last ON last.id = a.id`,
        );
        const names = new Set([...counts, ...attempts, ...errors].map((row) => row.target));
        return [...names].sort().map((target) => {
          const count = (status: DeliveryStatus) =>
            counts.find((c) => c.target === target && c.status === status)?.n ?? 0;
          const window = attempts.find((a) => a.target === target);
          const error = errors.find((e) => e.target === target);
          return {
            target,
            pending: count('pending'),
            dead: count('dead'),
            delivered: count('delivered'),
            attempts: window?.n ?? 0,
            succeeded: window?.ok ?? 0,
            lastError: error?.error ?? null,
            lastErrorAt: error?.at ?? null,
          };
        });
      }),
  };
}
