// The dispatcher where nothing runs between requests: one pass per wake-up (a Durable Object's
// alarm on Workers, a KV queue message on Deno Deploy). It keeps at most `maxInFlight` attempts
// going (Workers allow 6 simultaneous outgoing connections per invocation), claims one delivery at
// a time round-robin over the lanes, each capped at its share of the slots so that a hanging
// target never holds them all, each lane claiming as its target allows (held, probing, rate
// limited: lanes.ts planClaim), and stops when nothing is due or its time budget is spent. The
// caller prunes and sets its next wake-up from the returned time.
import { runAttempt } from './attempt.ts';
import type { TargetControl } from './control.ts';
import type { DispatcherOptions } from './dispatcher.ts';
import type { HttpPost } from './http-post.ts';
import { claimingLanes, createLanes, nextLaneWake, planClaim } from './lanes.ts';
import type { RateGate } from './rate.ts';

export interface DispatchPassDeps extends DispatcherOptions {
  post: HttpPost;
  maxInFlight: number;
  /** Stop claiming after this long; what is left is due at once for the next pass. */
  budgetMs: number;
  /** The targets' circuits and pauses, loaded by the caller; without it, nothing is held. */
  control?: TargetControl;
  /** The rate limits' slots, kept by the caller from one pass to the next. */
  gates?: Map<string, RateGate>;
}

/** Runs one pass; resolves with when the next wake-up is due (epoch ms), or null when nothing is pending. */
export async function dispatchPass(deps: DispatchPassDeps): Promise<number | null> {
  const { store, now, targets, control } = deps;
  if (targets.length === 0) return null;
  const share = Math.max(1, Math.floor(deps.maxInFlight / targets.length));
  const lanes = createLanes(targets, deps, deps.gates).map((lane) => ({
    ...lane,
    drained: false,
    cap: Math.min(lane.target.concurrency, share),
  }));
  const started = now();
  const running = new Set<Promise<unknown>>();
  let turn = 0;

  /** Claims and starts attempts until the slots are full or no lane has anything to claim. */
  async function fill(): Promise<void> {
    while (running.size < deps.maxInFlight && now() - started < deps.budgetMs) {
      const open = lanes.filter((lane) => !lane.drained && lane.inFlight < lane.cap);
      if (open.length === 0) return;
      const lane = open[turn++ % open.length]!;
      const plan = await planClaim(
        { ...lane, target: { ...lane.target, concurrency: lane.cap } },
        control,
        now(),
        deps.metrics,
      );
      const [delivery] = plan
        ? await store.claim([{ ...plan.request, limit: 1 }], now()).catch((err: unknown) => {
            // A probe taken for a claim that failed is given back, or its circuit would wait on it for ever.
            if (plan.probe) control!.releaseProbe(lane.target.name);
            throw err;
          })
        : [];
      if (!plan || !delivery) {
        if (plan?.probe) control!.releaseProbe(lane.target.name);
        lane.drained = true;
        continue;
      }
      lane.busy = true;
      lane.inFlight++;
      const attempt = (lane.gate ? lane.gate.wait(now) : Promise.resolve())
        .then(() => runAttempt(lane.target, lane.send, delivery, { ...deps, control }, { probe: plan.probe }))
        .finally(() => {
          lane.inFlight--;
          running.delete(attempt);
        });
      running.add(attempt);
    }
  }

  await fill();
  while (running.size > 0) {
    // Until an attempt ends, or a delivery with a free slot falls due, or a probe or rate-limit
    // slot comes: a target whose attempts hang must not keep another's retries waiting (contract §4).
    const withRoom = claimingLanes(lanes, control, now()).filter((lane) => lane.inFlight < lane.cap);
    const due =
      withRoom.length > 0 && now() - started < deps.budgetMs
        ? await store.nextDueAt(withRoom.map((lane) => lane.target.name))
        : null;
    const wake = earliest(due, await nextLaneWake(lanes, control, store, now()));
    const waits = [
      ...running,
      ...(wake === null ? [] : [sleep(Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, wake - now())))]),
    ];
    // The attempts may all have ended during those looks at the store, and a race of nothing never
    // settles: the pass would hang, and no wake-up would follow it (seen on Deno KV, whose looks are slow).
    if (waits.length > 0) await Promise.race(waits);
    for (const lane of lanes) lane.drained = false;
    await fill();
  }
  const claiming = claimingLanes(lanes, control, now()).map((lane) => lane.target.name);
  return earliest(await store.nextDueAt(claiming), await nextLaneWake(lanes, control, store, now()));
}

const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * How long a pass waits between looks at the store while attempts are in flight: at most a
 * second, and never less than a moment, since a due delivery held back by its chat's order
 * would otherwise have it look again at once, over and over.
 */
const MAX_WAIT_MS = 1_000;
const MIN_WAIT_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
