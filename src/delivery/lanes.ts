// The lane model both schedulers share: one lane per target with its sender and the attempts it
// has in flight, the claim a lane makes, and what a dispatcher does around delivering (resume
// what a previous run left leased, prune settled events now and then).
import type { TargetConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ClaimRequest, Store } from '../store/store.ts';
import { createSender, type Sender, type SenderDeps } from './send.ts';

/** A claim lasts the attempt's timeout plus this margin; after a crash the delivery is due again when it ends. */
export const LEASE_MARGIN_MS = 30_000;

export interface Lane {
  target: TargetConfig;
  send: Sender;
  inFlight: number;
}

export function createLanes(targets: readonly TargetConfig[], deps: SenderDeps): Lane[] {
  return targets.map((target) => ({ target, send: createSender(target, deps), inFlight: 0 }));
}

/** Up to `limit` due deliveries of the lane's target, leased for its timeout and margin, in chat order when it asks for that. */
export function claimRequest(lane: Lane, limit: number): ClaimRequest {
  return {
    target: lane.target.name,
    limit,
    leaseMs: lane.target.timeoutMs + LEASE_MARGIN_MS,
    perChat: lane.target.ordering === 'per-chat',
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
 * called. Between runs it answers without a promise: it is asked on every pump of a busy loop.
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
    return store.prune(now).then((pruned) => {
      if (pruned > 0) logger.info('events.pruned', { count: pruned });
    });
  };
}
