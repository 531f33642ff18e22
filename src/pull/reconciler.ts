// Reconciliation from Green API's journals (contract §8): for an instance with API credentials,
// each pass reads lastIncomingMessages and lastOutgoingMessages over the time since the last pass
// plus an overlap, rebuilds every entry into the notification its webhook would have been
// (green-api/journal.ts) and ingests it through the one way in. What the relay already has is a
// duplicate and changes nothing; what it never got is accepted, marked `data.recovered: "journal"`
// and delivered like any other. Only the message webhooks an instance has switched on (GetSettings)
// are recovered: a user who turned outgoing webhooks off is not sent them now.
//
// A pass per instance at a time; its time is kept in the store (`readState`), so that a relay
// that was down reconciles the time it was down. The runtime drives `runDue` (a timer on Node
// and Deno, the instance object's alarm on Workers, the KV queue on Deno Deploy).
import { apiCredentials, type RelayConfig } from '../config.ts';
import { pause } from '../deadline.ts';
import { createGreenApiClient, GreenApiError, type GreenApiClient } from '../green-api/client.ts';
import { readSettings, rebuildNotification, type JournalDirection } from '../green-api/journal.ts';
import type { Ingest } from '../ingest.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { AppStore } from '../store/store.ts';

export interface ReconcilerDeps {
  config: Pick<RelayConfig, 'instances' | 'reconcile' | 'dedupWindowMs'>;
  store: Pick<AppStore, 'readState' | 'writeState'>;
  ingest: Ingest;
  fetch: typeof fetch;
  logger: Logger;
  metrics?: Pick<Metrics, 'reconciled'>;
  now: () => number;
  /** The first wait after a 429, a 5xx or a network failure; it doubles (default 1 s). */
  backoffMs?: number;
  /** Tries of one call before the pass gives up until the next interval (default 5). */
  tries?: number;
  /**
   * Whether `instance` may be reconciled now. A pulled instance waits until its puller has emptied
   * Green API's queue once: what still waits there is not lost, and must not be taken for recovered.
   */
  ready?: (instance: string) => boolean;
  /**
   * Where several relays share the store, the lease that makes a due pass run in one of them
   * (Store.takeLease); none: this relay runs every due pass.
   */
  lease?: PassLease;
}

export interface PassLease {
  take(instance: string): Promise<boolean>;
  drop(instance: string): Promise<void>;
}

/** What one pass did, as logged. */
export interface PassResult {
  instance: string;
  minutes: number;
  entries: number;
  recovered: number;
  duplicates: number;
  skipped: number;
}

export interface Reconciler {
  /** Instances reconciled (those with API credentials), when reconciliation is on. */
  readonly instances: string[];
  /** Runs a pass for every instance that is due and not in a pass; resolves with when the next is due (or null: never). */
  runDue(): Promise<number | null>;
  /** One pass for `instance` now, unless one is running (null then). Throws when the pass failed. */
  pass(instance: string): Promise<PassResult | null>;
  /** Aborts the calls in flight; a pass cut short keeps its old time and runs again later. */
  stop(): void;
}

const BACKOFF_MAX_MS = 30_000;
const encoder = new TextEncoder();

/** The store key of an instance's last pass: `{ "at": <started>, "covered": <read up to> }`. */
export const reconcileKey = (instance: string) => `reconcile:${instance}`;

interface PassState {
  /** When the last successful pass started (epoch ms). */
  at: number;
  /** Journal time read up to: the next pass reads from here minus the overlap. */
  covered: number;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { config, logger } = deps;
  const settings = config.reconcile;
  const clients = new Map<string, GreenApiClient>();
  if (settings)
    for (const [instance, entry] of Object.entries(config.instances)) {
      const credentials = apiCredentials(entry);
      if (credentials) clients.set(instance, createGreenApiClient(instance, credentials, deps.fetch));
    }
  const running = new Set<string>();
  /** After a failed pass: not before this again. */
  const failedUntil = new Map<string, number>();
  const stopping = new AbortController();
  const backoffMs = deps.backoffMs ?? 1_000;
  const tries = deps.tries ?? 5;

  async function lastPass(instance: string): Promise<PassState | null> {
    const text = await deps.store.readState(reconcileKey(instance));
    if (!text) return null;
    try {
      const state = JSON.parse(text) as PassState;
      return typeof state.at === 'number' && typeof state.covered === 'number' ? state : null;
    } catch {
      return null;
    }
  }

  async function dueAt(instance: string): Promise<number> {
    const last = await lastPass(instance);
    const due = last ? last.at + settings!.everyMs : deps.now();
    return Math.max(due, failedUntil.get(instance) ?? 0);
  }

  const sleep = (ms: number) => pause(ms, stopping.signal);

  /** One call, tried again after a 429, a 5xx or a network failure (Retry-After when given). */
  async function call(instance: string, method: string, rest = ''): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await clients.get(instance)!.call('GET', method, { rest, signal: stopping.signal });
      } catch (err) {
        const retryable = !(err instanceof GreenApiError) || err.retryable;
        if (stopping.signal.aborted || !retryable || attempt >= tries) throw err;
        const wait =
          err instanceof GreenApiError && err.retryAfter !== null
            ? err.retryAfter * 1000
            : Math.min(BACKOFF_MAX_MS, backoffMs * 2 ** (attempt - 1));
        logger.warn('reconcile.retry', { instance, method, error: describeError(err), attempt, retryInMs: wait });
        await sleep(wait);
      }
    }
  }

  async function pass(instance: string): Promise<PassResult | null> {
    if (!settings || !clients.has(instance) || running.has(instance) || deps.ready?.(instance) === false) return null;
    running.add(instance);
    const started = deps.now();
    try {
      const last = await lastPass(instance);
      // The first pass reads back only the overlap: what came before the relay was reconciling
      // is not "lost", and must not reach targets as news.
      let from = (last?.covered ?? started) - settings.overlapMs;
      // An id is remembered for the dedup window only: older entries could be delivered twice.
      const oldest = started - config.dedupWindowMs;
      if (from < oldest) {
        logger.warn('reconcile.gap_too_long', {
          instance,
          since: new Date(from).toISOString(),
          readFrom: new Date(oldest).toISOString(),
        });
        from = oldest;
      }
      const minutes = Math.max(1, Math.ceil((started - from) / 60_000));
      const instanceSettings = readSettings(await call(instance, 'getSettings'));
      if (!instanceSettings) throw new Error('getSettings answered something that is not the settings');
      const youngest = (started - settings.graceMs) / 1000;
      const result: PassResult = { instance, minutes, entries: 0, recovered: 0, duplicates: 0, skipped: 0 };
      const wanted: [JournalDirection, string, boolean][] = [
        ['incoming', 'lastIncomingMessages', instanceSettings.incoming],
        ['outgoing', 'lastOutgoingMessages', instanceSettings.outgoingPhone || instanceSettings.outgoingApi],
      ];
      for (const [direction, method, on] of wanted) {
        if (!on) continue;
        const answer = await call(instance, method, `?minutes=${minutes}`);
        if (!Array.isArray(answer)) throw new Error(`${method} answered something that is not a list`);
        // Oldest first, so that per-chat targets get them in order (the order is not documented).
        const entries = answer
          .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
          .sort((a, b) => Number(a.timestamp ?? 0) - Number(b.timestamp ?? 0));
        for (const entry of entries) {
          result.entries++;
          if (typeof entry.timestamp === 'number' && entry.timestamp > youngest) {
            result.skipped++;
            continue;
          }
          const rebuilt = rebuildNotification(entry, direction, { id: instance, settings: instanceSettings });
          if (!rebuilt.ok) {
            result.skipped++;
            continue;
          }
          const ingested = await deps.ingest({
            body: encoder.encode(JSON.stringify(rebuilt.notification)),
            receivedAt: deps.now(),
            contentType: 'application/json',
            via: 'journal',
            instance,
            recovered: entry,
          });
          if (ingested.status === 'accepted') result.recovered++;
          else if (ingested.status === 'duplicate') result.duplicates++;
          else result.skipped++;
        }
      }
      await deps.store.writeState(
        reconcileKey(instance),
        JSON.stringify({ at: started, covered: started - settings.graceMs } satisfies PassState),
        deps.now(),
      );
      failedUntil.delete(instance);
      logger.info('reconcile.pass', { ...result, ms: deps.now() - started });
      deps.metrics?.reconciled(instance, 'ok');
      return result;
    } catch (err) {
      failedUntil.set(instance, deps.now() + settings.everyMs);
      deps.metrics?.reconciled(instance, 'failed');
      throw err;
    } finally {
      running.delete(instance);
    }
  }

  return {
    instances: settings ? [...clients.keys()] : [],
    pass,
    async runDue() {
      if (!settings || clients.size === 0) return null;
      let next: number | null = null;
      for (const instance of clients.keys()) {
        if (running.has(instance)) continue;
        // Due here, and (under the lease) still due: another relay may have just made the pass.
        if ((await dueAt(instance)) <= deps.now() && ((await deps.lease?.take(instance)) ?? true)) {
          try {
            if ((await dueAt(instance)) <= deps.now()) await pass(instance);
          } catch (err) {
            if (stopping.signal.aborted) return null;
            logger.warn('reconcile.failed', { instance, error: describeError(err), retryInMs: settings.everyMs });
          } finally {
            await deps.lease?.drop(instance).catch(() => {});
          }
        }
        const due = await dueAt(instance);
        next = next === null ? due : Math.min(next, due);
      }
      return next;
    },
    stop: () => stopping.abort(),
  };
}

/** Runs `runDue` on a timer until stopped (Node, Deno self-hosted). */
export function startReconcileLoop(reconciler: Reconciler, logger: Logger): { stop(): Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = reconciler
      .runDue()
      .catch((err: unknown) => {
        logger.error('reconcile.error', { error: describeError(err) });
        return Date.now() + 60_000;
      })
      .then((next) => {
        if (stopped || next === null) return;
        timer = setTimeout(tick, Math.max(1_000, next - Date.now()));
      });
  };
  if (reconciler.instances.length > 0) {
    logger.info('reconcile.started', { instances: reconciler.instances });
    tick();
  }
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      reconciler.stop();
      await current;
    },
  };
}
