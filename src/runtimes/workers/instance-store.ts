// One Green API instance's Durable Object: its events and deliveries in the same SQL store as on
// Node, over the object's own SQLite (ctx.storage.sql), reached by RPC from the Worker. Its alarm
// is the dispatcher: alarms are durable and retried, where waitUntil is neither. Two more objects
// of this class have roles of their own: `_quarantine` keeps the bodies that name no instance, and
// `_registry` notes the instances that "*" admitted.
import { DurableObject } from 'cloudflare:workers';
import type { RelayConfig } from '../../config.ts';
import { dispatchPass } from '../../delivery/dispatch-pass.ts';
import { fetchPost } from '../../delivery/http-post.ts';
import { createPruner, resumeClaims } from '../../delivery/lanes.ts';
import type { Logger } from '../../log.ts';
import { createSqlStore } from '../../store/sql-store.ts';
import type { EventQuery, NewEvent, QuarantinedBody, Store } from '../../store/store.ts';
import { USER_AGENT } from '../../version.ts';
import { configOf, loggerFor, type Env } from './config.ts';
import { durableObjectSqlDriver } from './sqlite-driver.ts';

/** Workers allow 6 simultaneous outgoing connections per invocation. */
const MAX_IN_FLIGHT = 6;
/** An alarm pass stops claiming after this long and re-arms at once for the rest. */
const PASS_BUDGET_MS = 20_000;

/** One Green API instance: its store, and the alarm that delivers its events. */
export class InstanceStore extends DurableObject<Env> {
  private readonly store: Store;
  private readonly config: RelayConfig;
  private readonly logger: Logger;
  /** Throttled per object: an alarm that fires often prunes at most once a minute. */
  private readonly prune: (now: number) => Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    this.logger = loggerFor(this.config);
    this.store = createSqlStore(durableObjectSqlDriver(ctx.storage), {
      dedupWindowMs: this.config.dedupWindowMs,
      retentionMs: this.config.retentionMs,
    });
    this.prune = createPruner(this.store, this.logger);
    // A new object has nothing in flight: deliveries leased by one that was evicted are due now.
    ctx.blockConcurrencyWhile(async () => {
      if ((await resumeClaims(this.store, this.logger, Date.now())) > 0) await this.armAt(Date.now());
    });
  }

  /** Sets the alarm for `at` unless one is set earlier. */
  private async armAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  async ingest(event: NewEvent): Promise<'accepted' | 'duplicate'> {
    const status = await this.store.ingest(event);
    if (status === 'accepted' && event.targets.length > 0) await this.armAt(Date.now());
    return status;
  }
  quarantine(body: QuarantinedBody) {
    return this.store.quarantine(body);
  }
  ping() {
    return this.store.ping();
  }
  listEvents(query: EventQuery) {
    return this.store.listEvents(query);
  }
  getEvent(id: string) {
    return this.store.getEvent(id);
  }
  async replay(eventId: string, targets: string[], now: number) {
    const replayed = await this.store.replay(eventId, targets, now);
    if (replayed > 0) await this.armAt(now);
    return replayed;
  }
  async replayDead(target: string, now: number) {
    const replayed = await this.store.replayDead(target, now);
    if (replayed > 0) await this.armAt(now);
    return replayed;
  }
  listQuarantine(limit: number, cursor?: string) {
    return this.store.listQuarantine(limit, cursor);
  }
  getQuarantined(id: string) {
    return this.store.getQuarantined(id);
  }
  markReleased(id: string, eventId: string) {
    return this.store.markReleased(id, eventId);
  }
  targetStats(since: number) {
    return this.store.targetStats(since);
  }
  /** The registry object's list of instances seen through "*" (only that object has the table). */
  instances(): string[] {
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS seen_instances (id TEXT PRIMARY KEY)');
    return this.ctx.storage.sql
      .exec<{ id: string }>('SELECT id FROM seen_instances')
      .toArray()
      .map((row) => row.id);
  }
  noteInstance(id: string): void {
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS seen_instances (id TEXT PRIMARY KEY)');
    this.ctx.storage.sql.exec('INSERT OR IGNORE INTO seen_instances (id) VALUES (?)', id);
  }

  /** The dispatcher: one pass over due deliveries, then the alarm for the next one. */
  override async alarm(): Promise<void> {
    const next = await dispatchPass({
      store: this.store,
      targets: this.config.targets,
      // Looked up at call time, so that tests can watch the Worker's outbound requests.
      post: fetchPost((input, init) => fetch(input, init)),
      logger: this.logger,
      now: Date.now,
      userAgent: USER_AGENT,
      maxInFlight: MAX_IN_FLIGHT,
      budgetMs: PASS_BUDGET_MS,
    });
    await this.prune(Date.now());
    if (next !== null) await this.armAt(Math.max(next, Date.now()));
  }
}
