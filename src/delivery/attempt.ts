// One delivery attempt from start to record: send, decide what follows (the retry schedule, then
// the target's circuit), record it, log and count it. Shared by both schedulers.
import type { TargetConfig } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ClaimedDelivery, Store } from '../store/store.ts';
import type { TargetControl } from './control.ts';
import { decide } from './retry.ts';
import { pause } from '../deadline.ts';
import type { Sender } from './send.ts';

export interface AttemptDeps {
  store: Store;
  logger: Logger;
  metrics?: Pick<Metrics, 'attempted'>;
  now: () => number;
  /** The targets' circuits and pauses; without it, every outcome is the retry schedule's. */
  control?: TargetControl;
}

export interface AttemptOptions {
  /** Aborts the attempt (the relay is stopping). */
  cancel?: AbortSignal;
  /** It is the probe of an open circuit. */
  probe?: boolean;
}

/**
 * Sends one claimed delivery and records the outcome; resolves with when it is due again if it
 * is to be retried. An attempt cancelled before any answer (the relay is stopping) is not
 * recorded: its lease keeps it, and the next start sends it again.
 */
export async function runAttempt(
  target: TargetConfig,
  send: Sender,
  delivery: ClaimedDelivery,
  deps: AttemptDeps,
  options: AttemptOptions = {},
): Promise<number | null> {
  const { store, logger, now } = deps;
  const result = await send(delivery, options.cancel);
  if (options.cancel?.aborted && result.statusCode === null) {
    logger.info('delivery.interrupted', {
      eventId: delivery.eventId,
      target: delivery.target,
      attempt: delivery.attempt,
    });
    return null;
  }
  const scheduled = decide(result, delivery.attempt, target.retryMs, now());
  const decision = deps.control
    ? deps.control.judge(target, delivery, result, scheduled, options.probe === true)
    : scheduled;
  const fields = {
    eventId: delivery.eventId,
    target: delivery.target,
    attempt: delivery.attempt,
    status: result.statusCode,
    latencyMs: result.latencyMs,
    outcome: decision.outcome,
    ...(options.probe ? { probe: true } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(decision.outcome === 'retry' ? { nextAt: new Date(decision.nextAt).toISOString() } : {}),
  };
  deps.metrics?.attempted(delivery.target, decision.outcome, result.latencyMs);
  const record = {
    ref: delivery.ref,
    eventId: delivery.eventId,
    target: delivery.target,
    attempt: delivery.attempt,
    startedAt: result.startedAt,
    latencyMs: result.latencyMs,
    statusCode: result.statusCode,
    error: result.error,
    outcome: decision.outcome,
    nextAt: decision.nextAt,
  };
  // A store that fails for a moment (a full disk, Postgres restarting) is asked again, well
  // within the lease: an outcome recorded late is not sent twice.
  for (let retry = 0; ; retry++) {
    try {
      await store.record(record);
      break;
    } catch (err) {
      if (retry === RECORD_RETRIES_MS.length) {
        // The lease runs out and the delivery is sent again: at least once, never lost.
        logger.error('delivery.record_failed', { ...fields, error: describeError(err) });
        return null;
      }
      await pause(RECORD_RETRIES_MS[retry]!);
    }
  }
  if (decision.outcome === 'dead') logger.warn('delivery.dead', fields);
  else logger.info('delivery.attempt', fields);
  return decision.outcome === 'retry' ? decision.nextAt : null;
}

/** The waits before asking a failing store again to record an attempt: 7.7 s in all, inside any lease (lanes.ts LEASE_MARGIN_MS). */
const RECORD_RETRIES_MS = [200, 500, 1_000, 2_000, 4_000];
