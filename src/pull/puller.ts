// Pull mode: notifications of an instance without a public URL, taken with Green API's HTTP API
// (https://green-api.com/en/docs/api/receiving/technology-http-api/): receiveNotification long
// polls, the body goes through the same normalize -> store path as a webhook, and only once the
// store has it is it removed with deleteNotification. A crash in between means Green API gives it
// again and the store answers duplicate: nothing lost, nothing doubled downstream.
import * as z from 'zod';
import type { InstanceConfig } from '../config.ts';
import { pause } from '../deadline.ts';
import { createGreenApiClient } from '../green-api/client.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Ingest } from '../ingest.ts';

export interface PullerDeps {
  instance: string;
  pull: NonNullable<InstanceConfig['pull']>;
  fetch: typeof fetch;
  ingest: Ingest;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
  /** How much longer than receiveTimeout a poll may take before it is given up (default 15 s). */
  pollMarginMs?: number;
  /** The first wait after a failed call; it doubles up to 30 s (default 1 s). */
  backoffMs?: number;
  /**
   * Where several relays share the store, the lease that lets one of them poll this instance at
   * a time (Store.takeLease); none: this relay always polls.
   */
  lease?: PullLease;
}

export interface PullLease {
  /** Takes or renews the lease for `ttlMs`; false while another relay holds it. */
  take(ttlMs: number): Promise<boolean>;
  drop(): Promise<void>;
}

export interface Puller {
  /** Stops polling; resolves once the loop has ended (an ingest in progress finishes first). */
  stop(): Promise<void>;
  /** Green API's queue has been found empty since the start: what it held then is in the store. */
  readonly drained: boolean;
}

/** What receiveNotification answers when the queue holds something ("null" when it is empty). */
const Received = z.object({ receiptId: z.number().int(), body: z.record(z.string(), z.unknown()) });

const BACKOFF_MAX_MS = 30_000;
/** How often a relay that does not hold an instance's lease looks whether it is free. */
const STANDBY_MS = 5_000;

const encoder = new TextEncoder();

export function startPuller(deps: PullerDeps): Puller {
  const { instance, pull, logger, metrics } = deps;
  const pollMarginMs = deps.pollMarginMs ?? 15_000;
  const backoffMs = deps.backoffMs ?? 1_000;
  const api = createGreenApiClient(instance, pull, deps.fetch);
  const stopping = new AbortController();
  const call = (verb: 'GET' | 'DELETE', method: string, rest: string, timeoutMs: number) =>
    api.call(verb, method, { rest, timeoutMs, signal: stopping.signal });

  /**
   * Stores one notification: as an event, or in quarantine when it is not one (kept, so that it can
   * be deleted from Green API's queue instead of blocking it). Throws when the store fails.
   */
  async function take(body: Record<string, unknown>, receiptId: number): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(body));
    const result = await deps.ingest({
      body: bytes,
      receivedAt: deps.now(),
      contentType: 'application/json',
      via: 'pull',
      instance,
    });
    const eventId = result.status === 'accepted' || result.status === 'duplicate' ? result.event.id : undefined;
    logger.info('pull.received', { instance, receiptId, status: result.status, eventId });
    metrics?.pulled(instance);
  }

  const sleep = (ms: number) => pause(ms, stopping.signal);

  // Renewed before every poll; long enough for a poll that takes all of receiveTimeout, so that
  // the holder keeps it, and short enough that a relay that died is replaced within seconds.
  const leaseMs = 2 * pull.receiveTimeout * 1000 + 10_000;
  let leading: boolean | undefined;
  /** Whether this relay polls now; logs each change. */
  async function lead(): Promise<boolean> {
    const held = deps.lease ? await deps.lease.take(leaseMs) : true;
    if (held !== leading && deps.lease) logger.info(held ? 'pull.leading' : 'pull.standby', { instance });
    leading = held;
    return held;
  }

  let drained = false;
  const loop = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        if (!(await lead())) {
          await sleep(STANDBY_MS);
          continue;
        }
        const answer = await call(
          'GET',
          'receiveNotification',
          `?receiveTimeout=${pull.receiveTimeout}`,
          pull.receiveTimeout * 1000 + pollMarginMs,
        );
        if (answer !== null) {
          const received = Received.safeParse(answer);
          if (!received.success)
            throw new Error('receiveNotification answered something that is not {receiptId, body}');
          const { receiptId, body } = received.data;
          await take(body, receiptId);
          // Only now, with the notification stored, may Green API forget it. `false` means it was
          // gone already, which is just as good.
          await call('DELETE', 'deleteNotification', `/${receiptId}`, 30_000);
        } else drained = true;
        failures = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        failures++;
        const wait = Math.min(BACKOFF_MAX_MS, backoffMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
        logger.warn('pull.failed', { instance, error: describeError(err), failures, retryInMs: Math.round(wait) });
        metrics?.pollError(instance);
        await sleep(wait);
      }
    }
  })();

  logger.info('pull.started', { instance, receiveTimeout: pull.receiveTimeout });
  return {
    async stop() {
      stopping.abort();
      await loop;
      // For another relay to take over at once rather than when the lease ends.
      if (leading) await deps.lease?.drop().catch(() => {});
      logger.info('pull.stopped', { instance });
    },
    get drained() {
      return drained;
    },
  };
}
