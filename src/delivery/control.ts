// Targets under control (contract §7): the circuits and pauses the lanes obey, kept in memory for
// the scheduler's quick questions and in the store so that they survive restarts and are shared by
// every dispatcher of a store. A transition (opened, closed, probe taken) is written at once with a
// compare-and-set on the target's version: when several dispatchers share a target, one wins and
// only it tells (alerts). Counts are written now and then, and what others wrote (an operator's
// pause, another relay's transition) is read back just as often.
import { isRelayEvent, type Alerter } from '../alerts.ts';
import type { TargetConfig } from '../config.ts';
import { formatDuration } from '../duration.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ClaimedDelivery, Store, TargetState } from '../store/store.ts';
import { closedState, holdCutoff, isOpen, laneMode, onFailure, onSuccess, probeInterval } from './circuit.ts';
import type { Decision } from './retry.ts';
import type { SendResult } from './send.ts';

export interface TargetControl {
  /** Reads the stored states; at start, and then from `tick`. */
  load(): Promise<void>;
  /** What a target's lane may do now: send as usual, one probe, or nothing. */
  mode(target: string, now: number): 'send' | 'probe' | 'hold';
  /** Takes the probe of an open circuit (another dispatcher of the store may have taken it first). */
  takeProbe(target: string, now: number): Promise<boolean>;
  /** Gives back a probe that found nothing due to try. */
  releaseProbe(target: string): void;
  /** The decision for an attempt: the retry's as it was, or held while the target is. Starts transitions in the background. */
  judge(
    target: TargetConfig,
    delivery: ClaimedDelivery,
    result: SendResult,
    decision: Decision,
    probe: boolean,
  ): Decision;
  /** Saves counts, reads back what others changed, ends holds longer than holdFor, tells grouped alerts. */
  tick(now: number): Promise<void>;
  /** Makes the next tick read the stored states, however recent the last read (a target was released). */
  invalidate(): void;
  /**
   * False from an `invalidate` until a read of the stored states begun after it has ended: a
   * decision that does not wait for a tick (an ingest's deliveries sent at once) must not trust
   * the states meanwhile, or a target paused a moment ago still gets the next event.
   */
  current(): boolean;
  /** When the next probe is due, or null (for the scheduler's sleep). */
  nextProbeAt(): number | null;
  /** Writes the counts changed since the last write (a pass ends). */
  save(): Promise<void>;
  /** Waits for the writes and alerts under way. */
  settle(): Promise<void>;
}

export interface TargetControlDeps {
  store: Pick<Store, 'targetStates' | 'saveTargetState' | 'expireHeld' | 'countAlert'>;
  targets: readonly TargetConfig[];
  alerter: Alerter;
  logger: Logger;
  metrics?: Pick<Metrics, 'probed'>;
  now: () => number;
}

/** How often counts are written and others' changes read back (an operator's pause takes effect within this). */
const REFRESH_MS = 500;

export function createTargetControl(deps: TargetControlDeps): TargetControl {
  const { store, logger, alerter, now } = deps;
  const byName = new Map(deps.targets.map((t) => [t.name, t]));
  const states = new Map<string, TargetState>();
  const dirty = new Set<string>();
  const probing = new Set<string>();
  const background = new Set<Promise<unknown>>();
  let refreshedAt = Number.NEGATIVE_INFINITY;
  /** Invalidations so far, and how many of them the last finished read came after. */
  let invalidated = 0;
  let readAfter = 0;

  const stateOf = (target: string) => states.get(target) ?? closedState(target, now());
  /** Targets that take only the relay's own events tell nothing of their own circuit: no alerts about alerts. */
  const takesOnlyAlerts = (t: TargetConfig) =>
    t.types !== undefined && t.types.length > 0 && t.types.every((p) => p.startsWith('com.green-relay'));

  function later(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => logger.error('target.control_failed', { error: describeError(err) }))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  }

  async function load(): Promise<void> {
    const asked = invalidated;
    const stored = await store.targetStates();
    states.clear();
    for (const s of stored) if (byName.has(s.target)) states.set(s.target, s);
    dirty.clear();
    readAfter = asked;
  }

  /** Writes one target's state if nobody changed it meanwhile; on a lost race, reads the winner's. */
  async function save(state: TargetState): Promise<boolean> {
    const won = await store.saveTargetState(state);
    const current = states.get(state.target);
    if (won) {
      if (current && current.version === state.version)
        states.set(state.target, { ...current, version: state.version + 1 });
    } else {
      const fresh = (await store.targetStates()).find((s) => s.target === state.target);
      if (fresh) states.set(state.target, fresh);
    }
    return won;
  }

  /** Writes a state now (a probe's outcome: other dispatchers must see the next probe time). */
  function persist(state: TargetState): void {
    states.set(state.target, state);
    dirty.delete(state.target);
    later(save(state));
  }

  /** An opened or closed circuit: written now, and told by whichever dispatcher's write wins. */
  function transition(target: TargetConfig, state: TargetState, kind: 'opened' | 'closed'): void {
    const openedAt = stateOf(target.name).openedAt;
    states.set(target.name, state);
    dirty.delete(target.name);
    later(save(state).then((won) => (won ? tell(target, state, kind, openedAt) : undefined)));
  }

  async function tell(
    target: TargetConfig,
    state: TargetState,
    kind: 'opened' | 'closed',
    openedAt: number | null,
  ): Promise<void> {
    logger.warn(kind === 'opened' ? 'target.circuit_opened' : 'target.circuit_closed', {
      target: target.name,
      failures: state.failures,
      lastError: state.lastError,
    });
    if (takesOnlyAlerts(target)) return;
    const text =
      kind === 'opened'
        ? `${target.name} is failing: ${state.failures} attempt${state.failures === 1 ? '' : 's'} in a row failed (last: ${state.lastError}); its deliveries are held, and it is probed every ${formatDuration(target.circuit!.probeEveryMs)}`
        : `${target.name} is back: its circuit closed${openedAt !== null ? ` after ${formatDuration(Math.max(1_000, Math.round((now() - openedAt) / 1_000) * 1_000))}` : ''}; its held deliveries flow again`;
    await alerter.emit({
      kind: kind === 'opened' ? 'target.circuit-opened' : 'target.circuit-closed',
      text,
      target: target.name,
      details: { failures: state.failures, lastError: state.lastError },
    });
  }

  async function saveDirty(): Promise<void> {
    for (const name of [...dirty]) {
      dirty.delete(name);
      await save(stateOf(name));
    }
  }

  const set = (state: TargetState) => {
    states.set(state.target, state);
    dirty.add(state.target);
  };

  const countDead = (target: TargetConfig, delivery: ClaimedDelivery, error: string | null) => {
    // Deliveries of the relay's own events raise no alerts about alerts.
    if (isRelayEvent(typeOf(delivery))) return;
    later(alerter.count(`dead:${target.name}`, error ?? 'dead'));
  };

  return {
    load,

    mode(target, at) {
      return laneMode(stateOf(target), at, probing.has(target));
    },

    async takeProbe(target, at) {
      const config = byName.get(target);
      const state = stateOf(target);
      if (!config?.circuit || probing.has(target) || laneMode(state, at, false) !== 'probe') return false;
      // The next probe of any dispatcher is one interval away (one that dies while probing frees it then).
      const taken = { ...state, probeAt: at + probeInterval(config.circuit, state.probes), updatedAt: at };
      states.set(target, taken);
      probing.add(target);
      try {
        if (await save(taken)) return true;
      } catch (err) {
        // The store is unavailable (a full disk, say): no probe now, the next one in an interval.
        logger.error('target.control_failed', { target, error: describeError(err) });
      }
      probing.delete(target);
      return false;
    },

    releaseProbe(target) {
      probing.delete(target);
    },

    invalidate() {
      refreshedAt = Number.NEGATIVE_INFINITY;
      invalidated++;
    },

    current: () => readAfter === invalidated,

    judge(target, delivery, result, decision, probe) {
      const at = now();
      if (probe) probing.delete(target.name);
      const state = stateOf(target.name);
      if (decision.outcome === 'delivered') {
        if (probe) deps.metrics?.probed(target.name, 'delivered');
        const { state: next, closed } = onSuccess(state, at);
        if (closed) transition(target, next, 'closed');
        else if (next !== state) set(next);
        return decision;
      }
      if (probe) deps.metrics?.probed(target.name, 'failed');
      // 410 Gone ends the delivery, whatever the target's health.
      if (result.statusCode === 410 || !target.circuit) {
        if (result.statusCode !== 410 && state.paused) return { outcome: 'held', nextAt: at };
        if (decision.outcome === 'dead') countDead(target, delivery, result.error);
        return decision;
      }
      const verdict = onFailure(state, target.circuit, at, {
        error: result.error ?? `HTTP ${result.statusCode}`,
        probe,
        attempt: delivery.attempt,
        exhausted: decision.outcome === 'dead',
      });
      if (verdict.opened) transition(target, verdict.state, 'opened');
      else if (probe) persist(verdict.state);
      else set(verdict.state);
      if (verdict.held) return { outcome: 'held', nextAt: at };
      if (decision.outcome === 'dead') countDead(target, delivery, result.error);
      return decision;
    },

    async tick(at) {
      if (at - refreshedAt < REFRESH_MS) return;
      refreshedAt = at;
      await saveDirty();
      await load();
      for (const target of deps.targets) {
        const state = states.get(target.name);
        const cutoff = state && target.circuit ? holdCutoff(state, target.circuit, at) : null;
        if (cutoff === null) continue;
        const error = `held longer than circuit.holdFor (${formatDuration(target.circuit!.holdForMs)}): ${target.name} did not come back`;
        const expired = await store.expireHeld(target.name, cutoff, error, at);
        if (expired > 0) {
          logger.warn('delivery.expired', { target: target.name, count: expired });
          await store.countAlert(`dead:${target.name}`, at, error, expired);
        }
      }
      await alerter.flush();
    },

    nextProbeAt() {
      let next: number | null = null;
      for (const state of states.values()) {
        if (isOpen(state) && !state.paused && !probing.has(state.target) && state.probeAt !== null)
          next = next === null ? state.probeAt : Math.min(next, state.probeAt);
      }
      return next;
    },

    save: saveDirty,

    async settle() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}

/** The event type of a claimed delivery, without parsing its attributes. */
function typeOf(delivery: ClaimedDelivery): string {
  return /"type":"([^"]*)"/.exec(delivery.attributes)?.[1] ?? '';
}
