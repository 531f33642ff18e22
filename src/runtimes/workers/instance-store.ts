// One Green API instance's Durable Object: its events and deliveries in the same SQL store as on
// Node, over the object's own SQLite (ctx.storage.sql), reached by RPC from the Worker. Its alarm
// is the dispatcher: alarms are durable and retried, where waitUntil is neither. After its own
// writes it feeds the event index (index-feed.ts, event-index.ts), never on the answer's path.
// More objects of this class have roles of their own: `relay` keeps the relay's own events about
// no instance (alerts), `_quarantine` the bodies that name no instance, and `_control` every
// target's circuit and pause (one circuit per target, whichever instance's deliveries it holds),
// the counts of grouped alerts, which its own alarm tells, and the small values the relay keeps.
import { DurableObject } from 'cloudflare:workers';
import { createAlerter, type Alerter } from '../../alerts.ts';
import { apiCredentials, type RelayConfig } from '../../config.ts';
import { createTargetControl, type TargetControl } from '../../delivery/control.ts';
import { dispatchPass } from '../../delivery/dispatch-pass.ts';
import { fetchPost } from '../../delivery/http-post.ts';
import { createPruner, resumeClaims } from '../../delivery/lanes.ts';
import type { RateGate } from '../../delivery/rate.ts';
import { webCryptoSha256 } from '../../hash.ts';
import { createIngest } from '../../ingest.ts';
import { describeError, type Logger } from '../../log.ts';
import { createArchiver, type Archiver } from '../../media/archiver.ts';
import { createReconciler, type Reconciler } from '../../pull/reconciler.ts';
import { createSqlStore } from '../../store/sql-store.ts';
import type { EventQuery, NewEvent, QuarantinedBody, Store, TargetState } from '../../store/store.ts';
import { USER_AGENT } from '../../version.ts';
import { pause } from '../../deadline.ts';
import { parseDuration } from '../../duration.ts';
import type { SqlDriver } from '../../store/sql-driver.ts';
import { configOf, loggerFor, type Env } from './config.ts';
import { INDEX } from './event-index.ts';
import { acknowledgeFeed, feedPending, installOutbox, readFeed } from './index-feed.ts';
import { mediaLinkOptions } from '../../media/links.ts';
import { r2Blobs, workersFileFetch } from './r2-blobs.ts';
import { createAlarmChain, type AlarmChain } from './alarm-chain.ts';
import { durableObjectSqlDriver } from './sqlite-driver.ts';

/** Workers allow 6 simultaneous outgoing connections per invocation. */
const MAX_IN_FLIGHT = 6;
/** An alarm pass stops claiming after this long and re-arms at once for the rest. */
const PASS_BUDGET_MS = 20_000;
/** Objects `_control` wakes per alarm when a target is released. */
const WAKE_BATCH = 50;
/** An object holding deliveries for a held target looks again this often, in case its wake-up is lost. */
const HELD_RECHECK_MS = 10 * 60_000;
/** Changes not yet in the index are looked at again after this long: a feed cut short (a crash, an index that is down) is sent again. */
const FEED_CHECK_MS = 30_000;
/** Within a long delivery pass, records feed the index at most this often; the pass's end feeds the rest. */
const FEED_EVERY_MS = 1_000;
/** The alarm waits this long for its last feed before it ends (a slow index must not hold deliveries back). */
const FEED_WAIT_MS = 2_000;

/** The object that keeps the targets' circuits and pauses, the alert counts and the relay's small values. */
export const CONTROL = '_control';
/** The object that keeps bodies naming no instance. */
export const QUARANTINE = '_quarantine';
/** Where an instance's object keeps which instance it is (an object does not know its own name). */
const INSTANCE_KEY = 'object:instance';

/** One Green API instance: its store, and the alarm that delivers its events. */
export class InstanceStore extends DurableObject<Env> {
  private readonly store: Store;
  /** The store the dispatcher records through: records feed the index now and then during a long pass. */
  private readonly passStore: Store;
  private readonly sql: SqlDriver;
  private readonly config: RelayConfig;
  private readonly logger: Logger;
  /** Throttled per object: an alarm that fires often prunes at most once a minute. */
  private readonly prune: (now: number) => Promise<void> | undefined;
  /** Kept while the object lives: rate limits are per object (README), circuits are `_control`'s. */
  private readonly gates = new Map<string, RateGate>();
  private control: TargetControl | undefined;
  private alerter: Alerter | undefined;
  /** The object's alarm: the dispatcher's passes and every wake-up asked for by a request. */
  private readonly alarmChain: AlarmChain;
  /** Targets this object has told `_control` it waits for (held: paused, or its circuit open). */
  private readonly waitingFor = new Set<string>();
  /** The Green API instance this object is, once an ingest or the cron has said so. */
  private instance: string | null | undefined;
  private reconciler: Reconciler | null | undefined;
  /** The media archive of this object's events (media.archive on), run by its alarm. */
  private readonly archiver: Archiver | null;
  /** A feed of the index is under way; another was asked for meanwhile; when the last one started. */
  private feeding = false;
  private feedAgain = false;
  private fedAt = 0;
  /** RELAY_INDEX_FEED_DELAY: changes wait this long for the alarm to feed them, instead of going at once. */
  private readonly feedDelayMs: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    this.logger = loggerFor(this.config);
    this.sql = durableObjectSqlDriver(ctx.storage);
    this.alarmChain = createAlarmChain(ctx.storage);
    this.store = createSqlStore(this.sql, {
      dedupWindowMs: this.config.dedupWindowMs,
      retentionMs: this.config.retentionMs,
      // No group commit here: the object's output gate already coalesces the writes of a turn, and
      // a batch flushed by a timer of one request (an RPC call) would resolve the writes another
      // request (the alarm) joined to it. workerd sees that request waiting on nothing of its own
      // and fails it with "Promise will never complete".
      pace: { defer: (flush) => flush() },
    });
    installOutbox(this.sql);
    this.feedDelayMs = parseDuration(env.RELAY_INDEX_FEED_DELAY ?? '') ?? 0;
    this.passStore = {
      ...this.store,
      record: async (attempt) => {
        await this.store.record(attempt);
        if (Date.now() - this.fedAt >= FEED_EVERY_MS) void this.feedIndex();
      },
    };
    this.prune = createPruner(this.store, this.logger);
    this.archiver =
      this.config.media && env.MEDIA
        ? createArchiver({
            store: this.store,
            blobs: r2Blobs(env.MEDIA),
            fetchFile: workersFileFetch,
            fetch: (input, init) => fetch(input, init),
            config: { instances: this.config.instances, media: this.config.media },
            logger: this.logger,
            now: Date.now,
            // Within the alarm: the pass that follows takes the deliveries that no longer wait.
            concurrency: 2,
          })
        : null;
    // A new object has nothing in flight: deliveries leased by one that was evicted are due now.
    ctx.blockConcurrencyWhile(async () => {
      if ((await resumeClaims(this.store, this.logger, Date.now())) > 0) await this.alarmChain.arm(Date.now());
    });
  }

  /** Looks for due deliveries now (`_control` calls it when a target this object holds deliveries for is released). */
  async wake(): Promise<void> {
    this.waitingFor.clear();
    this.control?.invalidate();
    await this.alarmChain.arm(Date.now());
  }

  async ingest(event: NewEvent): Promise<'accepted' | 'duplicate'> {
    const status = await this.store.ingest(event);
    // The alarm comes back for the deliveries now (its pass feeds the index again at its end and
    // looks at the outbox), or, without any, to send what a cut-short feed left in the outbox.
    const delivering = status === 'accepted' && (event.targets.length > 0 || event.media?.length);
    await this.alarmChain.arm(Date.now() + (delivering ? 0 : this.feedDelayMs || FEED_CHECK_MS));
    // Listed and found at once (with RELAY_INDEX_FEED_DELAY, from the alarm then).
    if (this.feedDelayMs === 0) void this.feedIndex();
    await this.learnInstance(event.instance);
    return status;
  }

  /**
   * Sends the outbox to the index, a batch at a time, one feed at a time. Returns the feed when
   * it starts one; the request that asked for it never waits for it, except the alarm at its end.
   */
  private feedIndex(): Promise<void> | null {
    if (this.feeding) {
      this.feedAgain = true;
      return null;
    }
    this.feeding = true;
    this.feedAgain = false;
    this.fedAt = Date.now();
    return (async () => {
      try {
        for (let batch = readFeed(this.sql); batch; batch = readFeed(this.sql)) {
          await this.env.INDEX.getByName(INDEX).apply(batch.feed);
          acknowledgeFeed(this.sql, batch.upTo);
        }
      } catch (err) {
        // The outbox keeps the changes; the alarm armed with them sends them again.
        this.logger.warn('index.feed_failed', { error: describeError(err) });
      } finally {
        this.feeding = false;
        if (this.feedAgain) void this.feedIndex();
      }
    })();
  }

  /** The Worker's cron: this object reconciles `instance` from its journals when due (in its alarm). */
  async reconcileIfDue(instance: string): Promise<void> {
    await this.learnInstance(instance);
  }

  /**
   * Notes which instance this object is; the first time, an instance with API credentials arms the
   * alarm, whose pass then reconciles it whenever due (a pass per object at a time: an object runs one alarm at once).
   */
  private async learnInstance(instance: string): Promise<void> {
    if (this.instance !== undefined) return;
    this.instance = (await this.store.readState(INSTANCE_KEY)) ?? null;
    if (this.instance === null) {
      this.instance = instance;
      await this.store.writeState(INSTANCE_KEY, instance, Date.now());
    }
    if (this.reconcilerOf()) await this.alarmChain.arm(Date.now());
  }

  /** Reconciliation of this object's instance, when it has credentials and reconciliation is on. */
  private reconcilerOf(): Reconciler | null {
    if (this.reconciler !== undefined) return this.reconciler;
    const id = this.instance;
    const entry = id ? this.config.instances[id] : undefined;
    if (!id || !entry || !apiCredentials(entry) || !this.config.reconcile) return (this.reconciler = null);
    const ingest = createIngest({
      config: this.config,
      store: {
        ingest: (event) => this.ingest(event),
        quarantine: (body) => this.env.INSTANCES.getByName(QUARANTINE).quarantine(body),
      },
      logger: this.logger,
      now: Date.now,
      sha256: webCryptoSha256,
    });
    return (this.reconciler = createReconciler({
      config: { ...this.config, instances: { [id]: entry } },
      store: this.store,
      ingest,
      fetch: (input, init) => fetch(input, init),
      logger: this.logger,
      now: Date.now,
    }));
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
    // The pass that delivers them feeds the index.
    if (replayed > 0) await this.alarmChain.arm(now);
    return replayed;
  }
  async replayDead(target: string, now: number) {
    const replayed = await this.store.replayDead(target, now);
    if (replayed > 0) await this.alarmChain.arm(now);
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
  getMedia(eventId: string) {
    return this.store.getMedia(eventId);
  }

  // ---- the control object's part: what every dispatcher and the app share ----------------------
  targetStates() {
    return this.store.targetStates();
  }
  async setTargetPaused(target: string, paused: boolean, now: number) {
    const state = await this.store.setTargetPaused(target, paused, now);
    if (!paused) await this.release(target);
    return state;
  }
  async saveTargetState(state: TargetState) {
    const before = (await this.store.targetStates()).find((s) => s.target === state.target);
    const saved = await this.store.saveTargetState(state);
    if (saved && before?.openedAt != null && state.openedAt === null) await this.release(state.target);
    return saved;
  }
  /** An object holds deliveries for `target`: it is woken when the target is resumed or its circuit closes. */
  waitFor(target: string, object: string): void {
    this.waiterTables();
    this.ctx.storage.sql.exec('INSERT OR IGNORE INTO waiters (target, object) VALUES (?, ?)', target, object);
  }
  private waiterTables(): void {
    this.ctx.storage.sql
      .exec(`CREATE TABLE IF NOT EXISTS waiters (target TEXT NOT NULL, object TEXT NOT NULL, PRIMARY KEY (target, object));
      CREATE TABLE IF NOT EXISTS wake_queue (object TEXT PRIMARY KEY)`);
  }
  /** Queues the objects waiting for `target`; this object's alarm wakes them, a batch at a time, off the operator's request. */
  private async release(target: string): Promise<void> {
    this.waiterTables();
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        'INSERT OR IGNORE INTO wake_queue (object) SELECT object FROM waiters WHERE target = ?',
        target,
      );
      this.ctx.storage.sql.exec('DELETE FROM waiters WHERE target = ?', target);
    });
    await this.alarmChain.arm(Date.now());
  }
  /** Wakes queued objects; returns whether some are left for the next alarm. */
  private async wakeQueued(): Promise<boolean> {
    this.waiterTables();
    const batch = this.ctx.storage.sql
      .exec<{ object: string }>(`SELECT object FROM wake_queue LIMIT ${WAKE_BATCH}`)
      .toArray();
    await Promise.all(
      batch.map(({ object }) => this.env.INSTANCES.get(this.env.INSTANCES.idFromString(object)).wake()),
    );
    for (const { object } of batch) this.ctx.storage.sql.exec('DELETE FROM wake_queue WHERE object = ?', object);
    return batch.length === WAKE_BATCH;
  }
  async countAlert(key: string, at: number, sample: string, by?: number) {
    await this.store.countAlert(key, at, sample, by);
    // Told by this object's alarm once the group's interval has passed.
    await this.alarmChain.arm(at + this.config.alerts.groupEveryMs);
  }
  takeAlertCounts(before: number) {
    return this.store.takeAlertCounts(before);
  }
  readState(key: string) {
    return this.store.readState(key);
  }
  writeState(key: string, value: string, now: number) {
    return this.store.writeState(key, value, now);
  }
  activity(since: number, bucketMs: number) {
    return this.store.activity(since, bucketMs);
  }

  /**
   * The object named `name`, or this one itself: an object never calls its own stub (the call would
   * wait for the very handler that makes it).
   */
  private object(
    name: string,
  ): Pick<
    InstanceStore,
    'ingest' | 'countAlert' | 'readState' | 'writeState' | 'targetStates' | 'saveTargetState' | 'waitFor'
  > {
    return this.env.INSTANCES.idFromName(name).equals(this.ctx.id) ? this : this.env.INSTANCES.getByName(name);
  }

  /**
   * The alerter of this object's passes: alerts go to the object their event belongs to, counts to
   * `_control`. Only `_control`, whose alarm flushes them, has counts to tell.
   */
  private alerts(): Alerter {
    return (this.alerter ??= createAlerter({
      store: {
        ingest: (event) => this.object(event.instance).ingest(event),
        countAlert: (key, at, sample, by) => this.object(CONTROL).countAlert(key, at, sample, by),
        takeAlertCounts: (before) => this.store.takeAlertCounts(before),
        readState: (key) => this.object(CONTROL).readState(key),
        writeState: (key, value, now) => this.object(CONTROL).writeState(key, value, now),
      },
      targets: this.config.targets,
      sha256: webCryptoSha256,
      now: Date.now,
      logger: this.logger,
      groupEveryMs: this.config.alerts.groupEveryMs,
    }));
  }

  /** The targets' control of this object's passes, over `_control`'s states (this object's own deliveries expire here). */
  private targetControl(): TargetControl {
    const control = this.object(CONTROL);
    return (this.control ??= createTargetControl({
      store: {
        targetStates: () => control.targetStates(),
        saveTargetState: (state) => control.saveTargetState(state),
        countAlert: (key, at, sample, by) => control.countAlert(key, at, sample, by),
        expireHeld: (target, before, error, now) => this.store.expireHeld(target, before, error, now),
      },
      targets: this.config.targets,
      alerter: this.alerts(),
      logger: this.logger,
      now: Date.now,
    }));
  }

  /** The dispatcher: one pass over due deliveries, then the alarm for the next one. */
  override async alarm(): Promise<void> {
    await this.alarmChain.run(() => this.pass());
  }

  private async pass(): Promise<number | null> {
    if (this.instance === undefined) {
      // Evicted since: which instance this is comes back from storage.
      const stored = await this.store.readState(INSTANCE_KEY);
      if (stored) await this.learnInstance(stored);
    }
    const reconcileAt = await this.reconcilerOf()
      ?.runDue()
      .catch((err: unknown) => {
        this.logger.error('reconcile.error', { error: describeError(err) });
        return Date.now() + 60_000;
      });
    // Files first: the deliveries waiting for them are due in the same pass.
    const mediaAt = await this.archiver?.runDue().catch((err: unknown) => {
      this.logger.error('media.error', { error: describeError(err) });
      return Date.now() + 60_000;
    });
    const control = this.targetControl();
    await control.tick(Date.now());
    const more = await this.wakeQueued();
    const next = await dispatchPass({
      store: this.passStore,
      targets: this.config.targets,
      // Looked up at call time, so that tests can watch the Worker's outbound requests.
      post: fetchPost((input, init) => fetch(input, init)),
      logger: this.logger,
      now: Date.now,
      userAgent: USER_AGENT,
      alertGroupEveryMs: this.config.alerts.groupEveryMs,
      maxInFlight: MAX_IN_FLIGHT,
      budgetMs: PASS_BUDGET_MS,
      control,
      gates: this.gates,
      media: this.config.media ? mediaLinkOptions(this.config.media) : undefined,
    });
    await control.settle();
    await control.save();
    await this.prune(Date.now());
    await this.archiver?.prune();
    const recheck = await this.waitForHeld(control);
    // Only `_control` has counts: the next group to tell.
    const ripe = await this.alerts().flush();
    // What the pass changed goes to the index; what a feed of another request's still carries, a
    // slow feed or a failed one left, is looked at again later.
    const feed = this.feedIndex();
    if (feed) await Promise.race([feed, pause(FEED_WAIT_MS)]);
    const unfed = feedPending(this.sql) ? Date.now() + FEED_CHECK_MS : null;
    const soonest = [next, recheck, ripe, more ? Date.now() : null, reconcileAt ?? null, mediaAt ?? null, unfed].filter(
      (t): t is number => t !== null,
    );
    return soonest.length > 0 ? Math.min(...soonest) : null;
  }

  /**
   * Tells `_control` which held targets this object has deliveries for, so that it is woken when
   * they are released; and asks for a look now and then anyway, in case a wake-up is lost.
   */
  private async waitForHeld(control: TargetControl): Promise<number | null> {
    const now = Date.now();
    const held = this.config.targets.filter((t) => control.mode(t.name, now) !== 'send').map((t) => t.name);
    let waiting = false;
    for (const target of held) {
      if ((await this.store.nextDueAt([target])) === null) continue;
      waiting = true;
      if (this.waitingFor.has(target)) continue;
      await this.object(CONTROL).waitFor(target, this.ctx.id.toString());
      this.waitingFor.add(target);
    }
    return waiting ? now + HELD_RECHECK_MS : null;
  }
}
