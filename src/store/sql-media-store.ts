// The media archive's part of the SQL store: one row per file of an event (its own, or the one it
// quotes), claimed and leased like a delivery, and the deliveries that wait for it. A delivery
// that waits has `next_at = WAITING`: pending (listings show it so), never due, first of its chat
// for per-chat order; the last file of its event to settle makes it due.
import { all, run, type Plan, type SqlRunner } from './sql-plan.ts';
import type { MediaJob, MediaPart, MediaRecord, MediaResult, NewEvent, Store } from './store.ts';

/** `next_at` of a delivery that waits for its event's files: later than any real time. */
export const WAITING = 8_640_000_000_000_000;

export const MEDIA_SCHEMA = `
CREATE TABLE IF NOT EXISTS media (
  event_id     TEXT NOT NULL,
  part         TEXT NOT NULL,              -- message | quoted
  instance     TEXT NOT NULL,
  status       TEXT NOT NULL,              -- pending | archived | failed
  url          TEXT,                       -- Green API's link; NULL: ask downloadFile
  chat_id      TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  mime_type    TEXT,
  file_name    TEXT,
  content_type TEXT,
  bytes        INTEGER,
  key          TEXT,                       -- where the bytes are, once archived
  error        TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER NOT NULL,
  leased       INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (event_id, part)
);
CREATE INDEX IF NOT EXISTS media_due ON media (next_at) WHERE status = 'pending';
`;

interface MediaRow {
  event_id: string;
  part: MediaPart;
  instance: string;
  status: MediaRecord['status'];
  url: string | null;
  chat_id: string;
  message_id: string;
  mime_type: string | null;
  file_name: string | null;
  content_type: string | null;
  bytes: number | null;
  key: string | null;
  error: string | null;
  attempts: number;
  updated_at: number;
}

export const toMediaRecord = (row: MediaRow): MediaRecord => ({
  eventId: row.event_id,
  part: row.part,
  status: row.status,
  contentType: row.content_type ?? row.mime_type,
  fileName: row.file_name,
  bytes: row.bytes,
  key: row.key,
  error: row.error,
  attempts: row.attempts,
  updatedAt: row.updated_at,
});

/** In ingest's transaction: the event's media jobs. */
export function* insertMedia(event: NewEvent): Plan<void> {
  for (const m of event.media ?? [])
    yield* run(
      `INSERT INTO media (event_id, part, instance, status, url, chat_id, message_id, mime_type, file_name, next_at, updated_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (event_id, part) DO NOTHING`,
      [
        event.id,
        m.part,
        event.instance,
        m.url,
        m.chatId,
        m.messageId,
        m.mimeType,
        m.fileName,
        event.receivedAt,
        event.receivedAt,
      ],
    );
}

/** The archived files of these events, by event id (the list as `each` takes it). */
export function* mediaOfEvents(eventIds: string[], each: string): Plan<Map<string, MediaRecord[]>> {
  const byEvent = new Map<string, MediaRecord[]>();
  if (eventIds.length === 0) return byEvent;
  const rows = yield* all<MediaRow>(`SELECT * FROM media WHERE event_id IN (SELECT value FROM ${each}) ORDER BY part`, [
    JSON.stringify(eventIds),
  ]);
  for (const row of rows) byEvent.set(row.event_id, [...(byEvent.get(row.event_id) ?? []), toMediaRecord(row)]);
  return byEvent;
}

export type MediaStore = Pick<Store, 'claimMedia' | 'recordMedia' | 'nextMediaDueAt' | 'takeOrphanMedia' | 'getMedia'>;

export function createSqlMediaStore(sql: SqlRunner): MediaStore {
  const { each, holder } = sql.dialect;
  return {
    claimMedia: (limit, now, leaseMs) =>
      sql.transaction(function* () {
        const rows = (yield* sql.dialect.claimMedia(now, limit, now + leaseMs)) as unknown as MediaRow[];
        return rows.map((row): MediaJob => ({
          eventId: row.event_id,
          instance: row.instance,
          part: row.part,
          url: row.url,
          chatId: row.chat_id,
          messageId: row.message_id,
          mimeType: row.mime_type,
          fileName: row.file_name,
          attempt: row.attempts + 1,
        }));
      }),

    recordMedia: (r: MediaResult) =>
      sql.transaction(function* () {
        yield* run(
          `UPDATE media SET status = ?, attempts = attempts + 1, leased = 0, next_at = ?, error = ?,
             content_type = COALESCE(?, content_type), bytes = COALESCE(?, bytes), key = COALESCE(?, key), updated_at = ?
           WHERE event_id = ? AND part = ?${holder === null ? '' : ' AND holder = ?'}`,
          [
            r.outcome === 'retry' ? 'pending' : r.outcome,
            r.nextAt ?? r.at,
            r.error ?? null,
            r.contentType ?? null,
            r.bytes ?? null,
            r.key ?? null,
            r.at,
            r.eventId,
            r.part,
            ...(holder === null ? [] : [holder]),
          ],
        );
        if (r.outcome === 'retry') return;
        const [open] = yield* all<{ n: number }>(
          "SELECT COUNT(*) AS n FROM media WHERE event_id = ? AND status = 'pending'",
          [r.eventId],
        );
        if (open!.n === 0)
          yield* run("UPDATE deliveries SET next_at = ? WHERE event_id = ? AND status = 'pending' AND next_at = ?", [
            r.at,
            r.eventId,
            WAITING,
          ]);
      }),

    nextMediaDueAt: () =>
      sql.read(function* () {
        const [row] = yield* all<{ next: number | null }>(
          "SELECT MIN(next_at) AS next FROM media WHERE status = 'pending'",
        );
        return row?.next ?? null;
      }),

    takeOrphanMedia: (limit) =>
      sql.transaction(function* () {
        const rows = yield* all<{ event_id: string; part: string; key: string | null }>(
          'SELECT event_id, part, key FROM media m WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = m.event_id) LIMIT ?',
          [limit],
        );
        for (const row of rows)
          yield* run('DELETE FROM media WHERE event_id = ? AND part = ?', [row.event_id, row.part]);
        return rows.flatMap((row) => (row.key ? [row.key] : []));
      }),

    getMedia: (eventId) =>
      sql.read(function* () {
        return (yield* mediaOfEvents([eventId], each)).get(eventId) ?? [];
      }),
  };
}
