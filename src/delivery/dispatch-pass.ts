// The dispatcher where nothing runs between requests: one pass per wake-up (a Durable Object's
// alarm on Workers, a KV queue message on Deno Deploy). It keeps at most `maxInFlight` attempts
// going (Workers allow 6 simultaneous outgoing connections per invocation), claims one delivery at
// a time round-robin over the lanes, each capped at its share of the slots so that a hanging
// target never holds them all, and stops when nothing is due or its time budget is spent. The
// caller prunes and sets its next wake-up from the returned time.
import { runAttempt } from './attempt.ts';
import type { DispatcherOptions } from './dispatcher.ts';
import type { HttpPost } from './http-post.ts';
import { claimRequest, createLanes } from './lanes.ts';

export interface DispatchPassDeps extends DispatcherOptions {
  post: HttpPost;
  maxInFlight: number;
  /** Stop claiming after this long; what is left is due at once for the next pass. */
  budgetMs: number;
}

/** Runs one pass; resolves with when the next delivery is due (epoch ms), or null when none is pending. */
export async function dispatchPass(deps: DispatchPassDeps): Promise<number | null> {
  const { store, now, targets } = deps;
  if (targets.length === 0) return null;
  const share = Math.max(1, Math.floor(deps.maxInFlight / targets.length));
  const lanes = createLanes(targets, deps).map((lane) => ({
    ...lane,
    drained: false,
    cap: Math.min(lane.target.concurrency, share),
  }));
  const started = now();
  const running = new Set<Promise<unknown>>();
  let turn = 0;

  /** Claims and starts attempts until the slots are full or no target has anything due. */
  async function fill(): Promise<void> {
    while (running.size < deps.maxInFlight && now() - started < deps.budgetMs) {
      const open = lanes.filter((lane) => !lane.drained && lane.inFlight < lane.cap);
      if (open.length === 0) return;
      const lane = open[turn++ % open.length]!;
      const [delivery] = await store.claim([claimRequest(lane, 1)], now());
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
    // Until an attempt ends, or a delivery with a free slot falls due: a target whose attempts
    // hang must not keep another's retries waiting for them (contract §4).
    const withRoom = lanes.filter((lane) => lane.inFlight < lane.cap).map((lane) => lane.target.name);
    const next = withRoom.length > 0 && now() - started < deps.budgetMs ? await store.nextDueAt(withRoom) : null;
    await Promise.race([
      ...running,
      ...(next === null ? [] : [sleep(Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, next - now())))]),
    ]);
    for (const lane of lanes) lane.drained = false;
    await fill();
  }
  return store.nextDueAt(targets.map((t) => t.name));
}

/**
 * How long a pass waits between looks at the store while attempts are in flight: at most a
 * second, and never less than a moment, since a due delivery held back by its chat's order
 * would otherwise have it look again at once, over and over.
 */
const MAX_WAIT_MS = 1_000;
const MIN_WAIT_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
