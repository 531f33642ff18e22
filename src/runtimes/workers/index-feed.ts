// How an instance's Durable Object tells the event index (event-index.ts) what changed. Triggers on
// the object's own tables note each changed event in an outbox in the same transaction as the
// change, so a feed can be late but never lost: whatever stops the object between its write and
// the feed (an eviction, a crash, an index that is down), the outbox still names the event, and
// the next feed sends it. A feed is a snapshot of each named event's row, deliveries and attempts
// (or "gone", once pruned), so sending one twice changes nothing.
import type { SqlDriver } from '../../store/sql-driver.ts';
import type { AttemptColumns, DeliveryRow } from '../../store/sql-operator-store.ts';

/** Events per feed: one RPC of a few hundred rows. */
export const FEED_BATCH = 100;

export interface FedEvent {
  id: string;
  instance: string;
  type: string;
  subject: string | null;
  received_at: number;
  preview: string | null;
  recovered: number;
  duplicates: number;
  last_seen_at: number;
}

export type FedDelivery = DeliveryRow & { chat: string | null };

export type FedAttempt = AttemptColumns & { event_id: string };

/** What the index is told: the current rows of some events, and the ids of events no longer kept. */
export interface IndexFeed {
  events: FedEvent[];
  deliveries: FedDelivery[];
  attempts: FedAttempt[];
  gone: string[];
}

/**
 * Notes the event: a new note unless one is already waiting that the feed under way does not
 * cover (seq above the feed's mark), so that a burst of changes to one event writes one row.
 */
const note = (table: string, when: string, id: string) => `
CREATE TRIGGER IF NOT EXISTS index_feed_${table}_${when.toLowerCase()} AFTER ${when} ON ${table}
  WHEN NOT EXISTS (SELECT 1 FROM index_outbox WHERE event_id = ${id} AND seq > (SELECT up_to FROM index_feed))
  BEGIN INSERT OR REPLACE INTO index_outbox (event_id) VALUES (${id}); END;`;

const OUTBOX = `
CREATE TABLE IF NOT EXISTS index_outbox (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT, -- a note made again takes a new seq (OR REPLACE)
  event_id TEXT NOT NULL UNIQUE
);
-- The last seq a feed has taken: notes up to it are being sent, or were.
CREATE TABLE IF NOT EXISTS index_feed (up_to INTEGER NOT NULL);
INSERT INTO index_feed (up_to) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM index_feed);
${note('events', 'INSERT', 'NEW.id')}
${note('events', 'UPDATE', 'NEW.id')}
${note('events', 'DELETE', 'OLD.id')}
${note('deliveries', 'INSERT', 'NEW.event_id')}
${note('deliveries', 'UPDATE', 'NEW.event_id')}
`;

/**
 * Sets the outbox up over the store's tables (after createSqlStore made them). An object that kept
 * events before it had an outbox (made by an earlier version) notes them all, so that the index
 * learns what it holds.
 */
export function installOutbox(sql: SqlDriver): void {
  const existed = sql.all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'index_outbox'").length > 0;
  sql.transaction(() => {
    sql.exec(OUTBOX);
    if (!existed) sql.run('INSERT OR IGNORE INTO index_outbox (event_id) SELECT id FROM events');
  });
}

/** The next feed: the oldest noted events' rows, and the outbox position to acknowledge once the index has them. */
export function readFeed(sql: SqlDriver, limit = FEED_BATCH): { feed: IndexFeed; upTo: number } | null {
  const noted = sql.all<{ seq: number; event_id: string }>(
    'SELECT seq, event_id FROM index_outbox ORDER BY seq LIMIT ?',
    [limit],
  );
  if (noted.length === 0) return null;
  const ids = [JSON.stringify(noted.map((row) => row.event_id))];
  const events = sql.all<FedEvent>(
    `SELECT id, instance, type, subject, received_at, preview, recovered, duplicates, last_seen_at
     FROM events WHERE id IN (SELECT value FROM json_each(?))`,
    ids,
  );
  const deliveries = sql.all<FedDelivery>(
    `SELECT event_id, target, chat, status, series, attempts, next_at, leased, last_status, last_error, updated_at
     FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY id`,
    ids,
  );
  const attempts = sql.all<FedAttempt>(
    `SELECT event_id, target, series, attempt, started_at, latency_ms, status_code, error, outcome FROM attempts
     WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?))) ORDER BY id`,
    ids,
  );
  const kept = new Set(events.map((event) => event.id));
  // A change to one of these events from now on is noted anew, for the next feed.
  sql.run('UPDATE index_feed SET up_to = ?', [noted.at(-1)!.seq]);
  return {
    feed: { events, deliveries, attempts, gone: noted.map((row) => row.event_id).filter((id) => !kept.has(id)) },
    upTo: noted.at(-1)!.seq,
  };
}

/** Forgets what the index has acknowledged. An event changed again meanwhile was noted anew, with a later seq, and stays. */
export function acknowledgeFeed(sql: SqlDriver, upTo: number): void {
  sql.run('DELETE FROM index_outbox WHERE seq <= ?', [upTo]);
}

/** Whether some change still waits for the index. */
export function feedPending(sql: SqlDriver): boolean {
  return sql.all('SELECT 1 FROM index_outbox LIMIT 1').length > 0;
}
