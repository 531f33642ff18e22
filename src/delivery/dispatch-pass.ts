// The dispatcher for runtimes that wake it themselves (a Durable Object's alarm): one pass that
// keeps at most `maxInFlight` attempts going (Workers allow 6 simultaneous outgoing connections
// per invocation), claims one delivery at a time round-robin over the targets, each capped at its
// share of the slots so that a hanging target never holds them all, and stops when nothing is
// due or its time budget is spent. The caller sets its next alarm from the returned time.
import type { TargetConfig } from '../config.ts';
import { runAttempt, type AttemptDeps } from './attempt.ts';
import { LEASE_MARGIN_MS } from './dispatcher.ts';
import type { HttpPost } from './http-post.ts';
import { createSender } from './send.ts';

export interface DispatchPassDeps extends AttemptDeps {
  targets: readonly TargetConfig[];
  post: HttpPost;
  userAgent: string;
  maxInFlight: number;
  /** Stop claiming after this long; what is left is due at once for the next pass. */
  budgetMs: number;
}

/** Runs one pass; resolves with when the next delivery is due (epoch ms), or null when none is pending. */
export async function dispatchPass(deps: DispatchPassDeps): Promise<number | null> {
  const { store, now, targets } = deps;
  if (targets.length === 0) return null;
  const share = Math.max(1, Math.floor(deps.maxInFlight / targets.length));
  const lanes = targets.map((target) => ({ target, send: createSender(target, deps), inFlight: 0, drained: false, cap: Math.min(target.concurrency, share) }));
  const started = now();
  const running = new Set<Promise<unknown>>();
  let turn = 0;

  /** Claims and starts attempts until the slots are full or no target has anything due. */
  async function fill(): Promise<void> {
    while (running.size < deps.maxInFlight && now() - started < deps.budgetMs) {
      const open = lanes.filter((lane) => !lane.drained && lane.inFlight < lane.cap);
      if (open.length === 0) return;
      const lane = open[turn++ % open.length]!;
      const [delivery] = await store.claim(
        [{ target: lane.target.name, limit: 1, leaseMs: lane.target.timeoutMs + LEASE_MARGIN_MS, perChat: lane.target.ordering === 'per-chat' }],
        now(),
      );
      if (!delivery) {
        lane.drained = true;
        continue;
      }
      lane.inFlight++;
      const attempt = runAttempt(lane.target, lane.send, delivery, deps).finally(() => {
        lane.inFlight--;
        running.delete(attempt);
      });
      running.add(attempt);
    }
  }

  await fill();
  while (running.size > 0) {
    await Promise.race(running);
    // A finished attempt frees a slot; a target that was empty may have a retry due by now.
    for (const lane of lanes) lane.drained = false;
    await fill();
  }
  return store.nextDueAt(targets.map((t) => t.name));
}
