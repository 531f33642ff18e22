// One delivery attempt from start to record: send, decide what follows, record it, log and
// count it. Shared by the in-process dispatcher loop and the alarm-driven pass of Workers.
import type { TargetConfig } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ClaimedDelivery, Store } from '../store/store.ts';
import { decide } from './retry.ts';
import type { Sender } from './send.ts';

export interface AttemptDeps {
  store: Store;
  logger: Logger;
  metrics?: Pick<Metrics, 'attempted'>;
  now: () => number;
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
  cancel?: AbortSignal,
): Promise<number | null> {
  const { store, logger, now } = deps;
  const result = await send(delivery, cancel);
  if (cancel?.aborted && result.statusCode === null) {
    logger.info('delivery.interrupted', {
      eventId: delivery.eventId,
      target: delivery.target,
      attempt: delivery.attempt,
    });
    return null;
  }
  const decision = decide(result, delivery.attempt, target.retryMs, now());
  const fields = {
    eventId: delivery.eventId,
    target: delivery.target,
    attempt: delivery.attempt,
    status: result.statusCode,
    latencyMs: result.latencyMs,
    outcome: decision.outcome,
    ...(result.error ? { error: result.error } : {}),
    ...(decision.nextAt ? { nextAt: new Date(decision.nextAt).toISOString() } : {}),
  };
  deps.metrics?.attempted(delivery.target, decision.outcome, result.latencyMs);
  try {
    await store.record({
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
    });
    if (decision.outcome === 'dead') logger.warn('delivery.dead', fields);
    else logger.info('delivery.attempt', fields);
    return decision.nextAt;
  } catch (err) {
    // The lease runs out and the delivery is sent again: at least once, never lost.
    logger.error('delivery.record_failed', { ...fields, error: describeError(err) });
    return null;
  }
}
