// The dispatcher on Deno Deploy, where nothing runs between requests but queue messages:
// wake-ups go through kv.enqueue (https://docs.deno.com/deploy/kv/manual/queue_overview/), and each
// one runs a dispatch pass (the same pass as a Durable Object's alarm), then enqueues the next
// wake-up for when the next delivery is due. The queue carries no deliveries, only "look now":
// the store keeps them, so a lost or repeated wake-up loses or doubles nothing. A wake-up the
// queue gives up on is kept under ['undelivered-wakeup', time] for an operator to see.
// Reconciliation passes ride the same queue as `{ reconcile }` messages (a Kv has one listener).
import { dispatchPass } from '../../delivery/dispatch-pass.ts';
import type { DispatcherFactory } from '../../delivery/dispatcher.ts';
import type { HttpPost } from '../../delivery/http-post.ts';
import { createControl, createPruner, resumeClaims } from '../../delivery/lanes.ts';
import type { RateGate } from '../../delivery/rate.ts';
import { describeError, type Logger } from '../../log.ts';
import type { ReconcileDriver } from '../../process-relay.ts';
import type { Reconciler } from '../../pull/reconciler.ts';

/** Attempts at once per pass: a Deploy isolate is shared, so stay modest. */
const MAX_IN_FLIGHT = 10;
const PASS_BUDGET_MS = 30_000;

/** The dispatcher and the reconciliation driver over one KV queue. */
export function createKvQueue(
  kv: Deno.Kv,
  post: HttpPost,
  logger: Logger,
): { dispatcher: DispatcherFactory; reconcileDriver: ReconcileDriver } {
  let reconcile: (() => Promise<void>) | undefined;
  const reconcileDriver: ReconcileDriver = (reconciler: Reconciler) => {
    let stopped = false;
    /** Runs what is due, then enqueues the next look for when the next pass is due. */
    const run = async () => {
      if (stopped) return;
      const next = await reconciler.runDue().catch((err: unknown) => {
        logger.error('reconcile.error', { error: describeError(err) });
        return Date.now() + 60_000;
      });
      if (next !== null && !stopped)
        await kv.enqueue({ reconcile: next }, { delay: Math.max(1_000, next - Date.now()) });
    };
    return {
      async start() {
        if (reconciler.instances.length === 0) return;
        reconcile = run;
        await kv.enqueue({ reconcile: Date.now() });
      },
      async stop() {
        stopped = true;
        reconciler.stop();
      },
    };
  };
  return {
    dispatcher: createKvQueueDispatcher(kv, post, (message) => message.reconcile !== undefined && reconcile?.()),
    reconcileDriver,
  };
}

function createKvQueueDispatcher(
  kv: Deno.Kv,
  post: HttpPost,
  other: (message: { reconcile?: number }) => Promise<void> | false | undefined,
): DispatcherFactory {
  return (deps) => {
    const prune = createPruner(deps.store, deps.logger);
    const gates = new Map<string, RateGate>();
    const control = createControl(deps, () => void wakeAt(deps.now()));
    let running = false;
    let nextWake: number | null = null;

    /** Enqueues a wake-up for `at`, unless one is already due by then. */
    async function wakeAt(at: number): Promise<void> {
      const now = deps.now();
      if (nextWake !== null && nextWake <= at && nextWake >= now) return;
      nextWake = at;
      await kv.enqueue({ wake: at }, { delay: Math.max(0, at - now), keysIfUndelivered: [['undelivered-wakeup', at]] });
    }

    return {
      async start() {
        await resumeClaims(deps.store, deps.logger, deps.now());
        await control.load();
        running = true;
        kv.listenQueue(async (message: { wake?: number; reconcile?: number }) => {
          if (message.reconcile !== undefined) return void (await other(message));
          if (!running) return;
          nextWake = null;
          await control.tick(deps.now());
          const next = await dispatchPass({
            ...deps,
            post,
            maxInFlight: MAX_IN_FLIGHT,
            budgetMs: PASS_BUDGET_MS,
            control,
            gates,
          });
          await control.settle();
          await control.save();
          await prune(deps.now());
          // Grouped alerts are told by a later pass: wake for the end of their interval too.
          const flushAt = deps.now() + deps.alertGroupEveryMs;
          await wakeAt(next === null ? flushAt : Math.min(next, flushAt));
        });
        await wakeAt(deps.now());
      },
      wake() {
        if (running) void wakeAt(deps.now());
      },
      targetsChanged() {
        control.invalidate();
        if (running) void wakeAt(deps.now());
      },
      async stop() {
        running = false;
      },
    };
  };
}
