// The dispatcher of a long-lived process (Node, Deno self-hosted): claims due deliveries from the
// store, sends them, records each attempt and reschedules or buries it. Each target has its own
// concurrency budget, so a slow or dead target only ever fills its own slots and never delays
// another (contract §4).
//
// It is woken when an event is accepted or an attempt ends, and by a timer for the next due retry.
// While attempts are in flight, wake-ups are gathered for a few milliseconds and served by one
// claim, so under load each claim takes more deliveries instead of the store taking more claims.
import { describeError } from '../log.ts';
import type { ClaimedDelivery } from '../store/store.ts';
import { runAttempt } from './attempt.ts';
import type { Dispatcher, DispatcherOptions } from './dispatcher.ts';
import type { HttpPost } from './http-post.ts';
import { claimRequest, createLanes, createPruner, resumeClaims, type Lane } from './lanes.ts';

export interface DispatchLoopDeps extends DispatcherOptions {
  post: HttpPost;
  /** Longest sleep between two looks at the store, in case a wake-up was missed. */
  idleMs?: number;
  /** How often settled events past their retention are deleted. */
  pruneEveryMs?: number;
}

/** While attempts are in flight, how long wake-ups are gathered before one claim serves them all. */
const GATHER_MS = 5;

export function createDispatchLoop(deps: DispatchLoopDeps): Dispatcher {
  const { store, logger, now } = deps;
  const idleMs = deps.idleMs ?? 1_000;
  const prune = createPruner(store, logger, deps.pruneEveryMs);
  const lanes = createLanes(deps.targets, deps);
  const attempts = new Set<Promise<void>>();
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
  const open = () => lanes.filter((lane) => lane.inFlight < lane.target.concurrency);

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
      const requests = open().map((lane) => claimRequest(lane, lane.target.concurrency - lane.inFlight));
      if (requests.length > 0) {
        const claimed = await store.claim(requests, now());
        for (const delivery of claimed)
          attempt(
            lanes.find((lane) => lane.target.name === delivery.target)!,
            delivery,
          );
      }
      const pruning = prune(now());
      if (pruning) await pruning;
    } catch (err) {
      logger.error('dispatcher.error', { error: describeError(err) });
    }
    await arm();
  }

  /**
   * Sleeps until the earliest due delivery of a target with a free slot, at most idleMs. While
   * attempts are in flight, each one that ends brings a pump anyway, so the store is asked at most
   * once per idleMs; in between, the retries recorded since keep `knownNext` current.
   */
  async function arm(): Promise<void> {
    let delay = idleMs;
    try {
      if (attempts.size === 0 || now() - askedAt >= idleMs || (knownNext !== null && knownNext <= now())) {
        knownNext = await store.nextDueAt(open().map((lane) => lane.target.name));
        askedAt = now();
      }
      if (knownNext !== null) delay = Math.min(idleMs, Math.max(0, knownNext - now()));
    } catch (err) {
      logger.error('dispatcher.error', { error: describeError(err) });
    }
    stopTimer();
    if (running && !pumpScheduled) timer = setTimeout(() => void pump(), delay);
  }

  function attempt(lane: Lane, delivery: ClaimedDelivery): void {
    lane.inFlight++;
    const done = runAttempt(lane.target, lane.send, delivery, deps, cancel.signal)
      .then((retryAt) => {
        if (retryAt !== null) knownNext = Math.min(knownNext ?? retryAt, retryAt);
      })
      .finally(() => {
        lane.inFlight--;
        attempts.delete(done);
        schedulePump();
      });
    attempts.add(done);
  }

  return {
    async start() {
      await resumeClaims(store, logger, now());
      running = true;
      schedulePump();
    },
    wake: schedulePump,
    async stop(graceMs = 10_000) {
      running = false;
      stopTimer();
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...attempts]), grace]);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      cancel.abort();
      await Promise.allSettled([...attempts]);
    },
  };
}
