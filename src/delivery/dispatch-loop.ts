// The dispatcher of a long-lived process (Node, Deno self-hosted): claims due deliveries from the
// store, sends them, records each attempt and reschedules or buries it. Each target has its own
// concurrency budget, so a slow or dead target only ever fills its own slots and never delays
// another (contract §4).
//
// It is woken when an event is accepted or an attempt ends, and by a timer for the next due retry.
// While attempts are in flight, wake-ups are gathered for a few milliseconds and served by one
// claim, so under load each claim takes more deliveries instead of the store taking more claims.
// Each lane claims as its target allows (lanes.ts planClaim): not while held, one probe when its
// circuit is open, one per slot of its rate limit.
//
// Where the store sits beside the loop (Node's store thread), ingests go through the loop too:
// the targets that can take an event at once have its deliveries leased in the ingest's own
// commit and sent when it commits, without a claim and the reads it makes.
import { describeError } from '../log.ts';
import type { ClaimedDelivery, IngestLease, LeasedIngest, NewEvent } from '../store/store.ts';
import { runAttempt } from './attempt.ts';
import type { Dispatcher, DispatcherOptions } from './dispatcher.ts';
import type { HttpPost } from './http-post.ts';
import {
  claimingLanes,
  claimRequest,
  createControl,
  createLanes,
  createPruner,
  nextLaneWake,
  planClaim,
  resumeClaims,
  type ClaimPlan,
  type Lane,
} from './lanes.ts';

export interface DispatchLoopDeps extends DispatcherOptions {
  post: HttpPost;
  /** Longest sleep between two looks at the store, in case a wake-up was missed. */
  idleMs?: number;
  /** How often settled events past their retention are deleted. */
  pruneEveryMs?: number;
  /** The store's ingest that leases deliveries in its own commit (sql-store.ts SqlStore), when it has one. */
  ingestLeased?: (event: NewEvent, lease: IngestLease) => Promise<LeasedIngest>;
  /**
   * Where an ingest is answered later than its promise settles (the store thread replies once per
   * turn): runs the sends it leased once the answers are out, so that no answer waits for the
   * sends of its commit. Without it they start at once.
   */
  afterAnswer?: (start: () => void) => void;
}

export interface DispatchLoop extends Dispatcher {
  /** Stores the event (Store.ingest) and starts at once the deliveries its targets can take. */
  ingest(event: NewEvent): Promise<'accepted' | 'duplicate'>;
}

/** While attempts are in flight, how long wake-ups are gathered before one claim serves them all. */
const GATHER_MS = 5;

export function createDispatchLoop(deps: DispatchLoopDeps): DispatchLoop {
  const { store, logger, now } = deps;
  const idleMs = deps.idleMs ?? 1_000;
  const prune = createPruner(store, logger, deps.pruneEveryMs);
  const lanes = createLanes(deps.targets, deps);
  const control = createControl(deps, () => schedulePump());
  /** What every attempt needs, built once: a spread per attempt was ~4 % of the thread's garbage. */
  const attemptDeps = { ...deps, control };
  /** Starts the sends an ingest leased: once its answer is out where the caller says when, else at once. */
  const startLeased = deps.afterAnswer ?? ((start: () => void) => start());
  const attempts = new Set<Promise<void>>();
  /**
   * Lanes that may have due deliveries no claim has taken: an event they could not take at once,
   * or a claim that took all it asked for. An attempt of such a lane that ends looks for more; one
   * that delivered, on a lane not behind, has nothing to look for.
   */
  const behind = new Set<Lane>();
  /** Aborts every attempt in flight when a stop's grace period ends (one for all: cheaper than one each). */
  const cancel = new AbortController();
  let running = false;
  let pumpScheduled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The earliest due time known without asking the store (see `arm`), and when it was asked last. */
  let knownNext: number | null = null;
  let askedAt = Number.NEGATIVE_INFINITY;
  const stopTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
  };

  /** Runs `pump` once, soon, however many times it is asked for before then. */
  function schedulePump(): void {
    if (pumpScheduled || !running) return;
    pumpScheduled = true;
    setTimeout(() => void pump(), attempts.size > 0 ? GATHER_MS : 0);
  }

  async function pump(): Promise<void> {
    pumpScheduled = false;
    stopTimer();
    if (!running) return;
    try {
      await control.tick(now());
      const plans: (ClaimPlan & { lane: Lane })[] = [];
      for (const lane of lanes) {
        const plan = await planClaim(lane, control, now(), deps.metrics);
        if (plan) plans.push({ lane, ...plan });
      }
      if (plans.length > 0) {
        const claimed = await store
          .claim(
            plans.map((p) => p.request),
            now(),
          )
          .catch((err: unknown) => {
            // A probe taken for a claim that failed is given back, or its circuit would wait on it for ever.
            for (const p of plans) if (p.probe) control.releaseProbe(p.lane.target.name);
            throw err;
          });
        for (const { lane, request, probe } of plans) {
          const mine = claimed.filter((d) => d.target === lane.target.name);
          lane.busy = mine.length === request.limit;
          if (lane.busy) behind.add(lane);
          else behind.delete(lane);
          if (probe && mine.length === 0) control.releaseProbe(lane.target.name);
          for (const delivery of mine) attempt(lane, delivery, probe);
        }
      }
      const pruning = prune(now());
      if (pruning) await pruning;
    } catch (err) {
      logger.error('dispatcher.error', { error: describeError(err) });
    }
    await arm();
  }

  /**
   * Sleeps until the earliest due delivery of a target that may claim, the next probe or the next
   * rate-limit slot, at most idleMs. While attempts are in flight, each one that ends brings a pump
   * anyway, so the store is asked at most once per idleMs; in between, the retries recorded since
   * keep `knownNext` current.
   */
  async function arm(): Promise<void> {
    let delay = idleMs;
    try {
      if (attempts.size === 0 || now() - askedAt >= idleMs || (knownNext !== null && knownNext <= now())) {
        knownNext = await store.nextDueAt(claimingLanes(lanes, control, now()).map((lane) => lane.target.name));
        askedAt = now();
      }
      const wake = await nextLaneWake(lanes, control, store, now());
      const next = knownNext === null ? wake : wake === null ? knownNext : Math.min(knownNext, wake);
      if (next !== null) delay = Math.min(idleMs, Math.max(0, next - now()));
    } catch (err) {
      logger.error('dispatcher.error', { error: describeError(err) });
    }
    stopTimer();
    if (running && !pumpScheduled) timer = setTimeout(() => void pump(), delay);
  }

  /** Starts one attempt, at its rate-limit slot when the target has a limit. */
  function attempt(lane: Lane, delivery: ClaimedDelivery, probe: boolean): void {
    lane.inFlight++;
    const started = lane.gate ? lane.gate.wait(now) : Promise.resolve();
    let quiet = false;
    const done = started
      .then(() => runAttempt(lane.target, lane.send, delivery, attemptDeps, { cancel: cancel.signal, probe }))
      .then((retryAt) => {
        if (retryAt !== null) knownNext = Math.min(knownNext ?? retryAt, retryAt);
        // A retry to arm, a circuit that opened, a backlog or the next of a chat need the pump.
        quiet =
          retryAt === null && direct(lane) && !behind.has(lane) && control.mode(lane.target.name, now()) === 'send';
      })
      .finally(() => {
        lane.inFlight--;
        attempts.delete(done);
        if (!quiet) schedulePump();
      });
    attempts.add(done);
  }

  /**
   * A lane takes a new event at once when it needs nothing only a claim decides (a rate-limit
   * slot, per-chat order, archived files), sends (not held, no probe due, by states read since
   * the last change an operator made), has a free slot, and is not behind: a new event must not
   * overtake a backlog.
   */
  const direct = ({ gate, target }: Lane) => !gate && target.ordering !== 'per-chat' && target.media !== 'archived';
  const takesAtOnce = (lane: Lane, at: number) =>
    direct(lane) &&
    !behind.has(lane) &&
    lane.inFlight < lane.target.concurrency &&
    control.current() &&
    control.mode(lane.target.name, at) === 'send';

  async function ingest(event: NewEvent): Promise<'accepted' | 'duplicate'> {
    const at = now();
    const mine = lanes.filter((lane) => event.targets.includes(lane.target.name));
    const takers = running && deps.ingestLeased && !event.media?.length ? mine.filter((l) => takesAtOnce(l, at)) : [];
    for (const lane of mine) if (!takers.includes(lane)) behind.add(lane);
    const { status, leased } =
      takers.length > 0 ? await ingestLeasing(event, takers, at) : { status: await store.ingest(event), leased: [] };
    const { attributes, data, body } = event;
    const sendLeased = () => {
      for (const lane of takers) lane.inFlight--;
      // Stopped meanwhile: the leases keep them, and the next start sends them.
      if (!running) return;
      for (const { ref, target } of leased) {
        const lane = takers.find((l) => l.target.name === target)!;
        attempt(lane, { ref, eventId: event.id, target, attempt: 1, attributes, data, body }, false);
      }
    };
    if (takers.length > 0) startLeased(sendLeased);
    // After the commit: what the takers left is there to be claimed.
    if (takers.length < mine.length) schedulePump();
    return status;
  }

  /** The ingest with the takers' deliveries leased; their slots are kept until the sends start (or it fails). */
  async function ingestLeasing(event: NewEvent, takers: Lane[], at: number): Promise<LeasedIngest> {
    for (const lane of takers) lane.inFlight++;
    try {
      const leaseMs = Math.max(...takers.map((lane) => claimRequest(lane, 1).leaseMs));
      return await deps.ingestLeased!(event, { targets: takers.map((lane) => lane.target.name), until: at + leaseMs });
    } catch (err) {
      for (const lane of takers) lane.inFlight--;
      throw err;
    }
  }

  return {
    ingest,
    async start() {
      await resumeClaims(store, logger, now());
      await control.load();
      running = true;
      schedulePump();
    },
    wake: schedulePump,
    targetsChanged() {
      control.invalidate();
      schedulePump();
    },
    async stop(graceMs = 10_000) {
      running = false;
      stopTimer();
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...attempts]), grace]);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      cancel.abort();
      await Promise.allSettled([...attempts]);
      await control.settle();
    },
  };
}
