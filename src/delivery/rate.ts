// A target's rate limit (contract §7): at most `starts` deliveries started per `perMs`, evenly
// spaced, as a receiver enforcing its own limit over any sliding window expects. `5/s` is one start
// every 200 ms, never five at the end of one second and five more at the start of the next,
// whatever the concurrency. A start that comes late does not make up for it with a burst. Starts
// are reserved: a lane claims a delivery shortly before its slot and starts it at the slot, so the
// time a claim takes does not squeeze two starts together.

import { pause } from '../deadline.ts';

export interface RateGate {
  /** The earliest next slot this relay knows of (epoch ms). */
  readonly nextAt: number;
  /**
   * Reserves a slot and resolves at it. A wake-up later than a quarter of the interval (a busy
   * event loop, a slow store) gives the slot up for a new one: starting late could put this start
   * just before the next slot's, which may be another relay's.
   */
  wait(now: () => number): Promise<void>;
}

/** Slots given up in a row before a start goes late anyway. */
const RESLOTS = 3;

/**
 * Where relays share a target, its slots are reserved in the store (Store.reserveStart): the
 * limit is the target's, not each relay's. Null: the store has one owner; this gate decides.
 */
export type SharedSlots = (now: number, intervalMs: number) => Promise<number | null>;

/** How long before its slot a delivery is claimed. */
export const RATE_LOOKAHEAD_MS = 20;

export function createRateGate(limit: { starts: number; perMs: number }, shared?: SharedSlots): RateGate {
  const interval = limit.perMs / limit.starts;
  let nextAt = Number.NEGATIVE_INFINITY;
  /** Reserves the next slot at or after `now`, and returns it. */
  async function reserve(now: number): Promise<number> {
    let slot = Math.max(now, nextAt);
    nextAt = slot + interval;
    const common = shared ? await shared(now, interval) : null;
    if (common !== null) {
      slot = common;
      nextAt = Math.max(nextAt, slot + interval);
    }
    return slot;
  }
  return {
    get nextAt() {
      return nextAt;
    },
    async wait(now) {
      for (let tries = 0; ; tries++) {
        const slot = await reserve(now());
        if (slot > now()) await pause(slot - now());
        if (now() - slot <= interval / 4 || tries === RESLOTS) return;
      }
    },
  };
}
