// The circuit's transitions (src/delivery/circuit.ts), as pure functions: when it opens, how probes
// space out, when it closes, and when a delivery that outlived its schedule is held, not dead.
import { describe, expect, it } from 'vitest';
import { closedState, holdCutoff, laneMode, onFailure, onSuccess, probeInterval } from '../../src/delivery/circuit.ts';

const policy = { afterFailures: 3, probeEveryMs: 1_000, holdForMs: 60_000 };
const fail = (attempt = 1, exhausted = false, probe = false) => ({ error: 'HTTP 503', probe, attempt, exhausted });

describe('circuit', () => {
  it('opens after afterFailures in a row, then holds and probes at doubling intervals up to 10×', () => {
    let state = closedState('crm', 0);
    for (let i = 1; i < 3; i++) {
      const verdict = onFailure(state, policy, i, fail());
      expect(verdict).toMatchObject({ opened: false, held: false });
      state = verdict.state;
    }
    const opened = onFailure(state, policy, 3, fail());
    expect(opened).toMatchObject({ opened: true, held: true, state: { openedAt: 3, probeAt: 1_003, failures: 3 } });
    expect(laneMode(opened.state, 1_002, false)).toBe('hold');
    expect(laneMode(opened.state, 1_003, false)).toBe('probe');
    expect(laneMode(opened.state, 1_003, true)).toBe('hold'); // one probe at a time
    expect([0, 1, 2, 3, 4, 5].map((n) => probeInterval(policy, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);

    const probed = onFailure(opened.state, policy, 1_003, fail(1, false, true));
    expect(probed).toMatchObject({ opened: false, held: true, state: { probes: 1, probeAt: 3_003 } });
    const closed = onSuccess(probed.state, 3_003);
    expect(closed).toMatchObject({ closed: true, state: { openedAt: null, failures: 0, probeAt: null, probes: 0 } });
    expect(laneMode(closed.state, 3_003, false)).toBe('send');
  });

  it('a success ends the streak', () => {
    const once = onFailure(closedState('crm', 0), policy, 1, fail()).state;
    const twice = onFailure(onSuccess(once, 2).state, policy, 3, fail()).state;
    expect(twice.failures).toBe(1);
  });

  it('holds a delivery whose retries ran out while the target never succeeded, but drops one with no retries', () => {
    const state = { ...closedState('crm', 0), failures: 1 };
    // Attempt 2 of a one-retry schedule; the target's last 2 attempts (both this delivery's) failed.
    expect(onFailure(state, policy, 10, fail(2, true))).toMatchObject({ opened: true, held: true });
    // A success came between its attempts: this delivery, not the target, is the problem.
    expect(onFailure({ ...state, failures: 0 }, policy, 10, fail(2, true))).toMatchObject({
      opened: false,
      held: false,
    });
    // retry: [] means drop on the first failure.
    expect(onFailure(state, policy, 10, fail(1, true))).toMatchObject({ opened: false, held: false });
  });

  it('a pause holds without probes, and holds longer than holdFor end', () => {
    const paused = { ...closedState('crm', 0), paused: true, pausedAt: 0 };
    expect(laneMode(paused, 5, false)).toBe('hold');
    expect(onFailure(paused, policy, 5, fail())).toMatchObject({ held: true, opened: false });
    const open = { ...closedState('crm', 0), openedAt: 1_000, probeAt: 2_000 };
    expect(holdCutoff(open, policy, 60_999)).toBeNull();
    expect(holdCutoff(open, policy, 61_000)).toBe(1_000);
  });
});
