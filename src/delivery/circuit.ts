// A target's circuit (contract §7), as pure transitions over its stored state. Closed, every due
// delivery goes out and failures are counted; `afterFailures` in a row open it. Open, deliveries
// are held: not attempted, their retry schedule not spent, while one probe at a time (the oldest
// held delivery) checks the target every `probeEvery`, doubling after each failed probe up to ten
// times that. The first success closes it. A delivery whose last retry fails while no success has
// been seen since it began opens the circuit too, instead of dying: an outage never kills a
// delivery by itself. Paused by hand, a target is held the same way, without probes.
import type { TargetState } from '../store/store.ts';

export interface CircuitPolicy {
  afterFailures: number;
  probeEveryMs: number;
  holdForMs: number;
}

/** Probes wait at most this many times `probeEvery`. */
const MAX_PROBE_FACTOR = 10;

export function closedState(target: string, now: number): TargetState {
  return {
    target,
    version: 0,
    paused: false,
    pausedAt: null,
    openedAt: null,
    failures: 0,
    probeAt: null,
    probes: 0,
    lastError: null,
    updatedAt: now,
  };
}

export const isOpen = (state: TargetState) => state.openedAt !== null;
export const isHeld = (state: TargetState) => state.paused || isOpen(state);

/** The wait before probe number `probes + 1`. */
export function probeInterval(policy: CircuitPolicy, probes: number): number {
  return Math.min(policy.probeEveryMs * 2 ** probes, policy.probeEveryMs * MAX_PROBE_FACTOR);
}

/** What a lane may do now: send as usual, send one probe, or nothing. */
export function laneMode(state: TargetState, now: number, probing: boolean): 'send' | 'probe' | 'hold' {
  if (state.paused) return 'hold';
  if (!isOpen(state)) return 'send';
  return !probing && state.probeAt !== null && state.probeAt <= now ? 'probe' : 'hold';
}

export interface FailureVerdict {
  state: TargetState;
  /** This failure opened the circuit. */
  opened: boolean;
  /** The attempt is held: recorded, but its delivery keeps its place and its retries. */
  held: boolean;
}

export interface FailedAttempt {
  error: string;
  /** It was the open circuit's probe (not an attempt already in flight when it opened). */
  probe: boolean;
  /** The number of this attempt in its delivery's series, from 1. */
  attempt: number;
  /** It was the last of the delivery's retry schedule: closed, the delivery would now be dead. */
  exhausted: boolean;
}

/** A failed attempt (not 410: that ends the delivery, whatever the target's health). */
export function onFailure(
  state: TargetState,
  policy: CircuitPolicy,
  now: number,
  failed: FailedAttempt,
): FailureVerdict {
  const failures = state.failures + 1;
  const { error } = failed;
  if (state.paused || isOpen(state)) {
    // A failed probe pushes the next one further away; an attempt in flight when the circuit
    // opened (or the target was paused) is only held.
    const probes = failed.probe ? state.probes + 1 : state.probes;
    const probeAt = failed.probe ? now + probeInterval(policy, probes) : state.probeAt;
    return {
      state: { ...state, failures, probes, probeAt, lastError: error, updatedAt: now },
      opened: false,
      held: true,
    };
  }
  // A delivery that retried and never saw the target succeed since its first attempt is a victim of
  // the outage, not its cause: at low traffic its schedule (8 attempts by default) can run out
  // before `afterFailures` are counted. A schedule of no retries is the operator's wish to drop.
  const outlived = failed.exhausted && failed.attempt > 1 && failures >= failed.attempt;
  if (failures < policy.afterFailures && !outlived)
    return { state: { ...state, failures, lastError: error, updatedAt: now }, opened: false, held: false };
  return {
    state: {
      ...state,
      failures,
      openedAt: now,
      probes: 0,
      probeAt: now + probeInterval(policy, 0),
      lastError: error,
      updatedAt: now,
    },
    opened: true,
    held: true,
  };
}

/** A delivered attempt: the streak ends, and an open circuit closes. */
export function onSuccess(state: TargetState, now: number): { state: TargetState; closed: boolean } {
  const closed = isOpen(state);
  if (!closed && state.failures === 0) return { state, closed: false };
  return { state: { ...state, failures: 0, openedAt: null, probeAt: null, probes: 0, updatedAt: now }, closed };
}

/** Held deliveries older than this are dead: the circuit has been open longer than holdFor. Null: none yet. */
export function holdCutoff(state: TargetState, policy: CircuitPolicy, now: number): number | null {
  if (!isOpen(state) || state.openedAt! > now - policy.holdForMs) return null;
  return now - policy.holdForMs;
}
