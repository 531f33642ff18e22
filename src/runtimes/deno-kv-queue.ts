// The dispatcher on Deno Deploy, where nothing runs between requests but queue messages:
// wake-ups go through kv.enqueue (https://docs.deno.com/deploy/kv/manual/queue_overview/), and each
// one runs a dispatch pass (the same pass as a Durable Object's alarm), then enqueues the next
// wake-up for when the next delivery is due. The queue carries no deliveries, only "look now":
// the store keeps them, so a lost or repeated wake-up loses or doubles nothing. A wake-up the
// queue gives up on is kept under ['undelivered-wakeup', time] for an operator to see.
import { dispatchPass } from '../delivery/dispatch-pass.ts';
import type { Dispatcher, DispatcherDeps } from '../delivery/dispatcher.ts';

/** Attempts at once per pass: a Deploy isolate is shared, so stay modest. */
const MAX_IN_FLIGHT = 10;
const PASS_BUDGET_MS = 30_000;

export function createKvQueueDispatcher(kv: Deno.Kv): (deps: DispatcherDeps) => Dispatcher {
  return (deps) => {
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
        const released = await deps.store.releaseClaims(deps.now());
        if (released > 0) deps.logger.info('dispatcher.resumed', { released });
        running = true;
        kv.listenQueue(async () => {
          if (!running) return;
          nextWake = null;
          const next = await dispatchPass({ ...deps, maxInFlight: MAX_IN_FLIGHT, budgetMs: PASS_BUDGET_MS });
          await deps.store.prune(deps.now());
          if (next !== null) await wakeAt(next);
        });
        await wakeAt(deps.now());
      },
      wake() {
        if (running) void wakeAt(deps.now());
      },
      async stop() {
        running = false;
      },
    };
  };
}
