// When to try a failed delivery again (contract §4): the target's schedule with ±20% jitter, or
// the target's own `Retry-After` when it sends one; 410 Gone and an exhausted schedule are final.

/** Longest wait a `Retry-After` may ask for; past it the relay keeps to its own schedule. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** `held` is never the schedule's: a target's circuit (control.ts) makes it, when the target is held. */
export type Decision = { outcome: 'delivered' | 'dead'; nextAt: null } | { outcome: 'retry' | 'held'; nextAt: number };

export interface AttemptResult {
  statusCode: number | null;
  retryAfterMs: number | null;
}

/** What follows attempt number `attempt` (from 1) that ended at `now`. */
export function decide(
  result: AttemptResult,
  attempt: number,
  scheduleMs: readonly number[],
  now: number,
  random = Math.random,
): Decision {
  const { statusCode } = result;
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return { outcome: 'delivered', nextAt: null };
  if (statusCode === 410 || attempt > scheduleMs.length) return { outcome: 'dead', nextAt: null };
  const delay = result.retryAfterMs ?? scheduleMs[attempt - 1]! * (0.8 + 0.4 * random());
  return { outcome: 'retry', nextAt: now + Math.round(delay) };
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), or null. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (!header) return null;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms > MAX_RETRY_AFTER_MS) return null;
  return Math.max(0, ms);
}
