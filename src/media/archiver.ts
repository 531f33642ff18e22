// The media archive (contract §8): after an event is stored (never before the answer), each of its
// files is fetched and kept beside it, so that a link Green API lets expire (24 hours on
// Telegram), or never gave (quoted files), does not cost the file. A file comes from its
// `downloadUrl`, or, when that is empty or refused with a 4xx, from the link Green API's
// downloadFile gives for the instance's own credentials. Tried like a delivery: on the media
// retry schedule, then recorded as failed with the reason; once all of an event's files are
// settled its waiting deliveries (targets with `"media": "archived"`) are due.
import { apiCredentials, type MediaConfig, type RelayConfig } from '../config.ts';
import { createGreenApiClient, GreenApiError } from '../green-api/client.ts';
import { withDeadline } from '../deadline.ts';
import { describeError, type Logger } from '../log.ts';
import type { MediaJob, Store } from '../store/store.ts';
import type { MediaBlobs } from './blobs.ts';
import { DownloadError, openDownload, type FileFetch } from './download.ts';
import { addressPolicy } from './guard.ts';

export interface ArchiverDeps {
  store: Pick<Store, 'claimMedia' | 'recordMedia' | 'nextMediaDueAt' | 'takeOrphanMedia'>;
  blobs: MediaBlobs;
  fetchFile: FileFetch;
  /** For Green API's downloadFile. */
  fetch: typeof fetch;
  config: { instances: RelayConfig['instances']; media: MediaConfig };
  logger: Logger;
  now: () => number;
  /** Files of an event settled: its waiting deliveries are due. */
  onSettled?: () => void;
  /** Files fetched at once (default 4). */
  concurrency?: number;
}

export interface Archiver {
  /** Archives what is due; resolves with when the next try is due, or null. */
  runDue(): Promise<number | null>;
  /** Deletes the files of events that were pruned; returns how many. */
  prune(): Promise<number>;
  stop(): void;
}

/** A try may take this long (a large file over a slow link) before its lease ends and it is tried again. */
const TRY_TIMEOUT_MS = 5 * 60_000;

/** Where the archive keeps a file (event ids are [A-Za-z0-9_-]). */
export const blobKey = (job: Pick<MediaJob, 'eventId' | 'part'>) => `${job.eventId}-${job.part}`;

export function createArchiver(deps: ArchiverDeps): Archiver {
  const { media } = deps.config;
  const policy = addressPolicy(media);
  const stopping = new AbortController();
  const concurrency = deps.concurrency ?? 4;

  /** The links to try, in order: Green API's own, then downloadFile's (asked only when needed). */
  async function* links(job: MediaJob): AsyncGenerator<string> {
    if (job.url) yield job.url;
    const credentials = apiCredentials(deps.config.instances[job.instance] ?? {});
    if (!credentials) return;
    const client = createGreenApiClient(job.instance, credentials, deps.fetch);
    let answer: unknown;
    try {
      answer = await client.call('POST', 'downloadFile', {
        body: { chatId: job.chatId, idMessage: job.messageId },
        signal: stopping.signal,
      });
    } catch (err) {
      // 400: the message has no file, and 401/403: wrong credentials, end it; a 5xx (WhatsApp's
      // "not available on WhatsApp servers" among them) or a 429 is tried again on the schedule.
      if (err instanceof GreenApiError)
        throw new DownloadError(
          `downloadFile answered HTTP ${err.status}`,
          err.status === 400 || err.status === 401 || err.status === 403,
          err.status,
        );
      throw new DownloadError(`downloadFile failed: ${describeError(err)}`, false);
    }
    const link = (answer as { downloadUrl?: unknown } | null)?.downloadUrl;
    if (typeof link !== 'string' || link === '') throw new DownloadError('downloadFile gave no link', true);
    yield link;
  }

  async function archive(job: MediaJob): Promise<void> {
    const signal = withDeadline(stopping.signal, TRY_TIMEOUT_MS);
    try {
      await tryOnce(job, signal);
    } finally {
      signal.clear();
    }
  }

  async function tryOnce(job: MediaJob, signal: AbortSignal): Promise<void> {
    const at = () => deps.now();
    // Every link's failure, in order: the first (Green API's own link) says most.
    const failures: DownloadError[] = [];
    const failed = (err: unknown) =>
      failures.push(err instanceof DownloadError ? err : new DownloadError(describeError(err), false));
    try {
      for await (const link of links(job)) {
        try {
          const file = await openDownload(link, {
            fetchFile: deps.fetchFile,
            policy,
            maxBytes: media.maxBytes,
            signal,
          });
          const bytes = await deps.blobs.put(blobKey(job), file.body);
          await deps.store.recordMedia({
            eventId: job.eventId,
            part: job.part,
            outcome: 'archived',
            nextAt: null,
            contentType: file.contentType ?? job.mimeType,
            bytes,
            key: blobKey(job),
            at: at(),
          });
          deps.logger.info('media.archived', { eventId: job.eventId, part: job.part, bytes, attempt: job.attempt });
          deps.onSettled?.();
          return;
        } catch (err) {
          failed(err);
          // Green API's link is dead or refused: downloadFile may give another. A file too large stays so.
          if (/maxBytes/.test(failures.at(-1)!.message)) break;
        }
      }
    } catch (err) {
      failed(err);
    }
    if (stopping.signal.aborted) return; // left leased: tried again at the next start
    const error =
      failures.length > 0
        ? failures.map((f) => f.message).join('; then ')
        : 'no link to fetch the file from (and no API credentials for downloadFile)';
    const delay = media.retryMs[job.attempt - 1];
    // Tried again while any of its links may still work (a 5xx, a network failure).
    const final = failures.every((f) => f.permanent) || delay === undefined;
    await deps.store.recordMedia({
      eventId: job.eventId,
      part: job.part,
      outcome: final ? 'failed' : 'retry',
      nextAt: final ? null : at() + delay,
      error,
      at: at(),
    });
    deps.logger.warn(final ? 'media.failed' : 'media.retry', {
      eventId: job.eventId,
      part: job.part,
      attempt: job.attempt,
      error,
      ...(final ? {} : { retryInMs: delay }),
    });
    if (final) deps.onSettled?.();
  }

  return {
    async runDue() {
      for (;;) {
        if (stopping.signal.aborted) return null;
        const jobs = await deps.store.claimMedia(concurrency, deps.now(), TRY_TIMEOUT_MS + 30_000);
        if (jobs.length === 0) break;
        await Promise.all(jobs.map(archive));
      }
      return deps.store.nextMediaDueAt();
    },
    async prune() {
      let deleted = 0;
      for (;;) {
        const keys = await deps.store.takeOrphanMedia(100);
        for (const key of keys) await deps.blobs.delete(key);
        deleted += keys.length;
        if (keys.length < 100) return deleted;
      }
    },
    stop: () => stopping.abort(),
  };
}

/**
 * Runs the archiver when woken (an event with files was stored) and when the next try is due.
 * `paused`: nothing runs until `start` (the store has released what a previous run left leased).
 */
export function startArchiveLoop(
  archiver: Archiver,
  logger: Logger,
  options: { paused?: boolean } = {},
): { start(): void; wake(): void; stop(): Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let started = !options.paused;
  let prunedAt = 0;
  const run = () => {
    if (stopped || !started) return;
    if (running) return void (again = true);
    if (timer !== undefined) clearTimeout(timer);
    running = (async () => {
      let next: number | null = null;
      try {
        next = await archiver.runDue();
        if (Date.now() - prunedAt > 60_000) {
          prunedAt = Date.now();
          await archiver.prune();
        }
      } catch (err) {
        logger.error('media.error', { error: describeError(err) });
        next = Date.now() + 30_000;
      }
      running = null;
      if (stopped) return;
      if (again) {
        again = false;
        return run();
      }
      // At most a minute: pruning looks again, and a wake-up lost to a failed store call is made good.
      const delay = Math.min(60_000, next === null ? 60_000 : Math.max(0, next - Date.now()));
      timer = setTimeout(run, delay);
    })();
  };
  run();
  return {
    start() {
      started = true;
      run();
    },
    wake: run,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      archiver.stop();
      await running;
    },
  };
}
