// The event index on Workers: one Durable Object that holds a copy of every instance object's
// event rows (without their bodies), deliveries and attempts, fed by those objects after their own
// writes (index-feed.ts). Operator requests that would otherwise ask every instance's object ask
// it instead: listing with any filter, which object holds an event, target statistics, the
// activity chart, the gauges of /metrics, bulk replay of a target's dead letters. The copy lives in
// the same tables as the instance objects' (store/sql-store.ts), so the same SQL answers over it
// as over one instance. The instance objects stay the truth: an event is opened and replayed in
// its own object, and a feed that did not arrive is sent again from the object's outbox.
import { DurableObject } from 'cloudflare:workers';
import { describeError } from '../../log.ts';
import type { SqlDriver } from '../../store/sql-driver.ts';
import { createSqlStore, type SqlStoreOptions } from '../../store/sql-store.ts';
import type { EventQuery, Store } from '../../store/store.ts';
import { createAlarmChain, type AlarmChain } from './alarm-chain.ts';
import { configOf, loggerFor, type Env } from './config.ts';
import type { IndexFeed } from './index-feed.ts';
import { durableObjectSqlDriver } from './sqlite-driver.ts';

/** The name of the index's object. */
export const INDEX = 'index';
/** Instance objects a bulk replay asks per alarm of the index. */
const REPLAY_BATCH = 50;

const INDEX_SCHEMA = `
CREATE UNIQUE INDEX IF NOT EXISTS index_delivery_key ON deliveries (event_id, target);
CREATE UNIQUE INDEX IF NOT EXISTS index_attempt_key ON attempts (event_id, target, series, attempt, started_at);
CREATE TABLE IF NOT EXISTS replay_queue (
  instance TEXT NOT NULL,
  target   TEXT NOT NULL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (instance, target)
);
`;

const IDS = 'SELECT value FROM json_each(?)';

/** The index's tables over `sql`: an instance object's, and what the feed and bulk replay need besides. */
export function createIndexStore(sql: SqlDriver, options: SqlStoreOptions): Store {
  const store = createSqlStore(sql, options);
  sql.exec(INDEX_SCHEMA);
  return store;
}

/** Applies one feed in one transaction: each event's rows as they are now; attempts are only ever added. */
export function applyFeed(sql: SqlDriver, feed: IndexFeed): void {
  sql.transaction(() => {
    if (feed.gone.length > 0) {
      const gone = [JSON.stringify(feed.gone)];
      sql.run(`DELETE FROM attempts WHERE event_id IN (${IDS})`, gone);
      sql.run(`DELETE FROM deliveries WHERE event_id IN (${IDS})`, gone);
      sql.run(`DELETE FROM events WHERE id IN (${IDS})`, gone);
    }
    for (const e of feed.events)
      sql.run(
        `INSERT INTO events (id, instance, type, subject, received_at, preview, recovered, attributes, data, body, duplicates, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, '', '', x'', ?, ?)
         ON CONFLICT (id) DO UPDATE SET preview = excluded.preview, recovered = excluded.recovered,
           duplicates = excluded.duplicates, last_seen_at = excluded.last_seen_at`,
        [e.id, e.instance, e.type, e.subject, e.received_at, e.preview, e.recovered, e.duplicates, e.last_seen_at],
      );
    for (const d of feed.deliveries)
      sql.run(
        `INSERT INTO deliveries (event_id, target, chat, status, series, attempts, next_at, leased, last_status, last_error, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (event_id, target) DO UPDATE SET chat = excluded.chat, status = excluded.status,
           series = excluded.series, attempts = excluded.attempts, next_at = excluded.next_at, leased = excluded.leased,
           last_status = excluded.last_status, last_error = excluded.last_error, updated_at = excluded.updated_at`,
        [
          d.event_id,
          d.target,
          d.chat,
          d.status,
          d.series,
          d.attempts,
          d.next_at,
          d.leased,
          d.last_status,
          d.last_error,
          d.updated_at,
        ],
      );
    for (const a of feed.attempts)
      sql.run(
        `INSERT OR IGNORE INTO attempts (delivery_id, event_id, target, series, attempt, started_at, latency_ms, status_code, error, outcome)
         VALUES (COALESCE((SELECT id FROM deliveries WHERE event_id = ? AND target = ?), 0), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          a.event_id,
          a.target,
          a.event_id,
          a.target,
          a.series,
          a.attempt,
          a.started_at,
          a.latency_ms,
          a.status_code,
          a.error,
          a.outcome,
        ],
      );
  });
}

/** The index's object (wrangler.toml binds it as INDEX). It never delivers: its deliveries are a copy. */
export class EventIndex extends DurableObject<Env> {
  private readonly sql: SqlDriver;
  /** Only its operator queries are used: listing, statistics, activity. */
  private readonly store: Store;
  /** Its alarm asks the instance objects of a bulk replay, a batch at a time. */
  private readonly alarmChain: AlarmChain;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    this.sql = durableObjectSqlDriver(ctx.storage);
    this.alarmChain = createAlarmChain(ctx.storage);
    this.store = createIndexStore(this.sql, {
      dedupWindowMs: config.dedupWindowMs,
      retentionMs: config.retentionMs,
    });
  }

  apply(feed: IndexFeed): void {
    applyFeed(this.sql, feed);
  }
  /** The instance whose object holds the event, or null when the index has not heard of it. */
  locate(eventId: string): string | null {
    return (
      this.sql.all<{ instance: string }>('SELECT instance FROM events WHERE id = ?', [eventId])[0]?.instance ?? null
    );
  }
  listEvents(query: EventQuery) {
    return this.store.listEvents(query);
  }
  targetStats(since: number) {
    return this.store.targetStats(since);
  }
  activity(since: number, bucketMs: number) {
    return this.store.activity(since, bucketMs);
  }

  /**
   * Replays a target's dead letters everywhere: queues the instances that may hold some (a
   * delivery the index saw pending may have died since) and asks them from its alarm, a batch at
   * a time, off the operator's request. Returns how many dead deliveries the index knows of.
   */
  async replayDead(target: string, now: number): Promise<number> {
    const dead = this.sql.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM deliveries WHERE target = ? AND status = 'dead'",
      [target],
    )[0]!.n;
    const queued = this.sql.run(
      `INSERT OR REPLACE INTO replay_queue (instance, target, at)
       SELECT DISTINCT e.instance, d.target, ? FROM deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.target = ? AND d.status != 'delivered'`,
      [now, target],
    );
    if (queued > 0) await this.alarmChain.arm(now);
    return dead;
  }

  override async alarm(): Promise<void> {
    await this.alarmChain.run(() => this.replayBatch());
  }

  /** Asks one batch of the replay queue; returns when to ask the rest, if any is left. */
  private async replayBatch(): Promise<number | null> {
    const batch = this.sql.all<{ instance: string; target: string; at: number }>(
      `SELECT instance, target, at FROM replay_queue LIMIT ${REPLAY_BATCH}`,
    );
    const results = await Promise.allSettled(
      batch.map((job) => this.env.INSTANCES.getByName(job.instance).replayDead(job.target, job.at)),
    );
    batch.forEach((job, i) => {
      const result = results[i]!;
      if (result.status === 'fulfilled')
        this.sql.run('DELETE FROM replay_queue WHERE instance = ? AND target = ? AND at = ?', [
          job.instance,
          job.target,
          job.at,
        ]);
      else
        loggerFor(configOf(this.env)).error('index.replay_failed', {
          instance: job.instance,
          target: job.target,
          error: describeError(result.reason),
        });
    });
    // What is left (the rest of the queue, or what failed) is asked again shortly.
    if (this.sql.all('SELECT 1 FROM replay_queue LIMIT 1').length === 0) return null;
    return Date.now() + (results.some((r) => r.status === 'rejected') ? 5_000 : 0);
  }
}
