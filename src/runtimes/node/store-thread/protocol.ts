// What the main thread and the store thread say to each other (client.ts and main.ts). Messages
// travel in batches: calls and replies at most one per event-loop turn each way, logs and counts
// at most one per 10 ms.
import type { TargetConfig } from '../../../config.ts';
import type { MediaLinkOptions } from '../../../media/links.ts';
import type { LogFields } from '../../../log.ts';
import type { Store } from '../../../store/store.ts';

export type StoreMethod = keyof Store;

/** Every Store method the thread answers, checked against the interface at compile time. */
export const STORE_METHODS = Object.keys({
  ingest: 1,
  quarantine: 1,
  ping: 1,
  claim: 1,
  record: 1,
  releaseClaims: 1,
  nextDueAt: 1,
  prune: 1,
  listEvents: 1,
  getEvent: 1,
  replay: 1,
  replayDead: 1,
  listQuarantine: 1,
  getQuarantined: 1,
  markReleased: 1,
  targetStats: 1,
  activity: 1,
  targetStates: 1,
  setTargetPaused: 1,
  saveTargetState: 1,
  expireHeld: 1,
  countAlert: 1,
  takeAlertCounts: 1,
  readState: 1,
  writeState: 1,
  claimMedia: 1,
  recordMedia: 1,
  nextMediaDueAt: 1,
  takeOrphanMedia: 1,
  getMedia: 1,
  takeLease: 1,
  dropLease: 1,
  reserveStart: 1,
} satisfies Record<StoreMethod, 1>) as StoreMethod[];

export interface ThreadData {
  file: string;
  options: { dedupWindowMs: number; retentionMs: number };
}

/**
 * A Store method; `exec`: statements on the thread's connection (diagnostics); `start` and
 * `stop`: the dispatcher that runs in the thread.
 */
export type Call =
  | { id: number; method: StoreMethod; args: unknown[] }
  | { id: number; method: 'exec'; args: [sql: string] }
  | { id: number; method: 'start'; args: [options: DispatcherStart] }
  | { id: number; method: 'stop'; args: [graceMs: number | undefined] }
  | { id: number; method: 'targetsChanged'; args: [] };

/** An error as it crosses threads: structured cloning would drop `code`. */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
}

export type Reply = { id: number; value: unknown } | { id: number; error: ThreadError };

/** What the thread's dispatcher logged and counted, for the main thread's logger and metrics. */
/** What the dispatcher in the thread is started with: the part of its options that can cross. */
export interface DispatcherStart {
  targets: TargetConfig[];
  userAgent: string;
  alertGroupEveryMs: number;
  media?: MediaLinkOptions;
}

/** The dispatcher's counters, by the name of their Metrics method. */
export type Count =
  ['attempted', string, string, number] | ['alerted', string] | ['probed', string, string] | ['rateLimited', string];

export interface Notes {
  logs: [level: 'info' | 'warn' | 'error', event: string, fields: LogFields | undefined][];
  counts: Count[];
}

export type ToThread = { type: 'calls'; calls: Call[] } | { type: 'close' };
export type FromThread =
  | { type: 'ready' }
  | { type: 'failed'; error: ThreadError }
  | { type: 'replies'; replies: Reply[] }
  | ({ type: 'notes' } & Notes);

export function toThreadError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromThreadError(error: ThreadError): Error {
  return Object.assign(new Error(error.message), error);
}

/** Calls `fn` once, after this turn's I/O, however often it is asked for before then: one message per turn. */
export function soon(fn: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      fn();
    });
  };
}

/**
 * Calls `fn` once, `ms` after it is first asked for, however often it is asked for meanwhile; `now`
 * calls it at once if it is waiting. For messages nobody waits on (logs and counts): each message
 * costs both threads more than what it carries, and a delivery ends in a turn of its own.
 */
export function gathered(ms: number, fn: () => void): { ask(): void; now(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const now = () => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    fn();
  };
  return {
    ask() {
      timer ??= setTimeout(now, ms);
    },
    now,
  };
}
