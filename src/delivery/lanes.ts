// The lane model both schedulers share: one lane per target with its sender and the attempts it
// has in flight, the claim a lane makes, and what a dispatcher does around delivering (resume
// what a previous run left leased, prune settled events now and then).
import { createAlerter } from '../alerts.ts';
import type { TargetConfig } from '../config.ts';
import { webCryptoSha256 } from '../hash.ts';
import type { Logger } from '../log.ts';
import type { ClaimRequest, Store } from '../store/store.ts';
import { createTargetControl, type TargetControl } from './control.ts';
import type { DispatcherOptions } from './dispatcher.ts';
import { createMediaLinks, type MediaLinkOptions } from '../media/links.ts';
import { createRateGate, RATE_LOOKAHEAD_MS, type RateGate } from './rate.ts';
import { createSender, type Sender, type SenderDeps } from './send.ts';

/** A claim lasts the attempt's timeout plus this margin; after a crash the delivery is due again when it ends. */
export const LEASE_MARGIN_MS = 30_000;

export interface Lane {
  target: TargetConfig;
  send: Sender;
  inFlight: number;
  /** The target's rate limit, when it has one. */
  gate: RateGate | null;
  /** The lane's last claim took all it asked for: more may be due. */
  busy: boolean;
}

/**
 * One lane per target. `gates` keeps the rate limits' state across calls (a scheduler that makes
 * lanes anew for every pass hands in the same map each time).
 */
export function createLanes(
  targets: readonly TargetConfig[],
  deps: SenderDeps & { media?: MediaLinkOptions; store: Pick<Store, 'reserveStart'> },
  gates = new Map<string, RateGate>(),
): Lane[] {
  if (deps.media && !deps.mediaLinks) deps = { ...deps, mediaLinks: createMediaLinks(deps.media) };
  return targets.map((target) => {
    if (target.rateLimit && !gates.has(target.name))
      gates.set(
        target.name,
        createRateGate(target.rateLimit, (now, intervalMs) => deps.store.reserveStart(target.name, now, intervalMs)),
      );
    return { target, send: createSender(target, deps), inFlight: 0, gate: gates.get(target.name) ?? null, busy: false };
  });
}

/** The control of the targets' circuits and pauses, and the alerts it raises, over the dispatcher's store. */
export function createControl(options: DispatcherOptions, onDue: () => void): TargetControl {
  const alerter = createAlerter({
    store: options.store,
    targets: options.targets,
    sha256: options.sha256 ?? webCryptoSha256,
    now: options.now,
    logger: options.logger,
    metrics: options.metrics,
    groupEveryMs: options.alertGroupEveryMs,
    onDue,
  });
  return createTargetControl({
    store: options.store,
    targets: options.targets,
    alerter,
    logger: options.logger,
    metrics: options.metrics,
    now: options.now,
  });
}

/** A lane's claim: what to ask the store for, and whether it is its circuit's probe. */
export interface ClaimPlan {
  request: ClaimRequest;
  probe: boolean;
}

/**
 * What a lane may claim now, or null: nothing while it is full or held; one delivery as the probe
 * of an open circuit, or shortly before the next slot of its rate limit; otherwise as many as it
 * has room for.
 */
export async function planClaim(
  lane: Lane,
  control: TargetControl | undefined,
  now: number,
  metrics?: { rateLimited(target: string): void },
): Promise<ClaimPlan | null> {
  const room = lane.target.concurrency - lane.inFlight;
  if (room <= 0) return null;
  const mode = control?.mode(lane.target.name, now) ?? 'send';
  if (mode === 'hold') return null;
  const probe = mode === 'probe';
  if (probe && !(await control!.takeProbe(lane.target.name, now))) return null;
  if (lane.gate && lane.gate.nextAt > now + RATE_LOOKAHEAD_MS) {
    if (lane.busy) metrics?.rateLimited(lane.target.name);
    return null;
  }
  return { request: claimRequest(lane, probe || lane.gate ? 1 : room), probe };
}

/** The lanes that would claim now if something were due (for the store's next due time): not full, not held, not waiting for a rate-limit slot. */
export function claimingLanes<L extends Lane>(
  lanes: readonly L[],
  control: TargetControl | undefined,
  now: number,
): L[] {
  return lanes.filter(
    (lane) =>
      lane.inFlight < lane.target.concurrency &&
      (control?.mode(lane.target.name, now) ?? 'send') !== 'hold' &&
      !(lane.gate && lane.gate.nextAt > now + RATE_LOOKAHEAD_MS),
  );
}

/**
 * When a lane that waits may claim again: the next slot of a rate-limited lane that has something
 * due, and the next probe of an open circuit that holds something (or null).
 */
export async function nextLaneWake(
  lanes: readonly Lane[],
  control: TargetControl | undefined,
  store: Pick<Store, 'nextDueAt'>,
  now: number,
): Promise<number | null> {
  const times: number[] = [];
  for (const lane of lanes) {
    if (!lane.gate || lane.gate.nextAt <= now + RATE_LOOKAHEAD_MS) continue;
    if ((await store.nextDueAt([lane.target.name])) !== null) times.push(lane.gate.nextAt - RATE_LOOKAHEAD_MS);
  }
  const probe = control?.nextProbeAt() ?? null;
  if (probe !== null) {
    const open = lanes
      .filter((lane) => control!.mode(lane.target.name, Number.POSITIVE_INFINITY) !== 'send')
      .map((lane) => lane.target.name);
    if (open.length > 0 && (await store.nextDueAt(open)) !== null) times.push(probe);
  }
  return times.length > 0 ? Math.min(...times) : null;
}

/** Up to `limit` due deliveries of the lane's target, leased for its timeout and margin, in chat order when it asks for that. */
export function claimRequest(lane: Lane, limit: number): ClaimRequest {
  return {
    target: lane.target.name,
    limit,
    leaseMs: lane.target.timeoutMs + LEASE_MARGIN_MS,
    perChat: lane.target.ordering === 'per-chat',
    media: lane.target.media === 'archived',
  };
}

/** At start: a single owner has nothing in flight, so what it finds leased is due now. Returns how many. */
export async function resumeClaims(store: Store, logger: Logger, now: number): Promise<number> {
  const released = await store.releaseClaims(now);
  if (released > 0) logger.info('dispatcher.resumed', { released });
  return released;
}

/**
 * Deletes settled events past their retention, at most once per `everyMs` however often it is
 * called, and where relays share the store, in one of them per `everyMs` (the `prune` lease).
 * Between runs it answers without a promise: it is asked on every pump of a busy loop.
 */
export function createPruner(
  store: Store,
  logger: Logger,
  everyMs = 60_000,
): (now: number) => Promise<void> | undefined {
  let last = Number.NEGATIVE_INFINITY;
  return (now) => {
    if (now - last < everyMs) return undefined;
    last = now;
    return store
      .takeLease('prune', now, everyMs)
      .then((mine) => (mine ? store.prune(now) : 0))
      .then((pruned) => {
        if (pruned > 0) logger.info('events.pruned', { count: pruned });
      });
  };
}
