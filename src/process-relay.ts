// The relay for runtimes that run as a long-lived process (Node, Deno self-hosted): the app, the
// dispatcher loop and a puller per pulled instance over one store. The runtime brings the store,
// its HTTP server and its fastest ports; this wires the rest the same way everywhere.
import type { Context, Hono } from 'hono';
import { createRelay } from './app.ts';
import type { RelayConfig } from './config.ts';
import { createDispatchLoop } from './delivery/dispatch-loop.ts';
import type { DispatcherFactory } from './delivery/dispatcher.ts';
import { fetchPost, type HttpPost } from './delivery/http-post.ts';
import type { RelayEvent } from './event.ts';
import type { Sha256 } from './hash.ts';
import { createRedactingLogger, type Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { startPuller, type Puller } from './pull/puller.ts';
import { createReconciler, startReconcileLoop, type Reconciler } from './pull/reconciler.ts';
import { createArchiver, startArchiveLoop } from './media/archiver.ts';
import type { MediaBlobs } from './media/blobs.ts';
import type { FileFetch } from './media/download.ts';
import { createMediaLinks, mediaLinkOptions } from './media/links.ts';
import type { Store } from './store/store.ts';
import type { SharedFeed } from './admin/live.ts';
import { USER_AGENT } from './version.ts';

export interface ProcessRelayPorts {
  config: RelayConfig;
  store: Store;
  logger: Logger;
  /** How the in-process dispatcher loop POSTs deliveries (default: fetch); unused with another `dispatcher`. */
  post?: HttpPost;
  /** How pullers, reconciliation and the media archive call Green API. */
  fetch: typeof fetch;
  sha256?: Sha256;
  peerAddress?: (c: Context) => string | undefined;
  /** What the admin surface says when no admin token is configured (Deno Deploy: nowhere to generate one). */
  adminClosedReason?: string;
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
  /** How deliveries are driven; the in-process loop when absent (Deno Deploy brings a KV queue, Node its store thread). */
  dispatcher?: DispatcherFactory;
  /** What runs reconciliation passes when due; a timer in the relay when absent (Deno Deploy brings its KV queue). */
  reconcileDriver?: ReconcileDriver;
  /** The media archive's files and its guarded fetch (media.archive on; the runtime refuses to start without them). */
  media?: { blobs: MediaBlobs; fetchFile: FileFetch };
  /** Where relays share the store: the live list across them. */
  sharedFeed?: SharedFeed;
}

/** How long after a start a pushed instance is first reconciled (or one interval, if shorter). */
const PUSH_SETTLE_MS = 2 * 60_000;
/** The longest a reconciliation pass may hold its lease (it drops it when done). */
const PASS_LEASE_MS = 10 * 60_000;

export type ReconcileDriver = (reconciler: Reconciler) => { start(): Promise<void>; stop(): Promise<void> };

export interface ProcessRelay {
  app: Hono;
  /** The logger in use (redacting when logs.redact is set). */
  logger: Logger;
  /** Resumes what a previous run left leased, starts the dispatcher and the pullers. */
  start(): Promise<void>;
  /** Stops the pullers, then the dispatcher (in-flight attempts get `graceMs`). The runtime closes its server first and its store last. */
  stop(graceMs?: number): Promise<void>;
}

export function createProcessRelay(ports: ProcessRelayPorts): ProcessRelay {
  const { config, store } = ports;
  const logger = config.logs.redact ? createRedactingLogger(ports.logger) : ports.logger;
  const metrics = createMetrics();
  const mediaConfig = config.media;
  if (mediaConfig && !ports.media) throw new Error('media.archive needs a place for its files here');
  const linkOptions = mediaConfig ? mediaLinkOptions(mediaConfig) : undefined;
  const dispatch: DispatcherFactory =
    ports.dispatcher ?? ((options) => createDispatchLoop({ ...options, post: ports.post ?? fetchPost() }));
  const dispatcher = dispatch({
    store,
    targets: config.targets,
    logger,
    metrics,
    now: Date.now,
    userAgent: USER_AGENT,
    sha256: ports.sha256,
    alertGroupEveryMs: config.alerts.groupEveryMs,
    media: linkOptions,
  });
  const archiving =
    mediaConfig && ports.media
      ? startArchiveLoop(
          createArchiver({
            store,
            blobs: ports.media.blobs,
            fetchFile: ports.media.fetchFile,
            fetch: ports.fetch,
            config: { instances: config.instances, media: mediaConfig },
            logger,
            now: Date.now,
            onSettled: () => dispatcher.wake(),
          }),
          logger,
          { paused: true },
        )
      : undefined;
  const { app, ingest } = createRelay({
    config,
    store,
    logger,
    metrics,
    sha256: ports.sha256,
    peerAddress: ports.peerAddress,
    adminClosedReason: ports.adminClosedReason,
    onDue: () => dispatcher.wake(),
    onTargetsChanged: () => dispatcher.targetsChanged(),
    onAccepted: ports.onAccepted,
    media: ports.media && linkOptions ? { blobs: ports.media.blobs, links: createMediaLinks(linkOptions) } : undefined,
    onMedia: () => archiving?.wake(),
    sharedFeed: ports.sharedFeed,
  });
  let pullers: { instance: string; puller: Puller }[] = [];
  const reconciler = createReconciler({
    config,
    store,
    ingest,
    fetch: ports.fetch,
    logger,
    metrics,
    now: Date.now,
    // A pulled instance: once its queue was emptied. A pushed one: a while after the start, for
    // the webhooks Green API held back while the relay was down to come in first (else they would
    // be marked recovered, and arrive as duplicates).
    ready: (instance) =>
      pullers.find((p) => p.instance === instance)?.puller.drained ??
      Date.now() - startedAt >= Math.min(PUSH_SETTLE_MS, config.reconcile?.everyMs ?? 0),
    lease: {
      take: (instance) => store.takeLease(`reconcile:${instance}`, Date.now(), PASS_LEASE_MS),
      drop: (instance) => store.dropLease(`reconcile:${instance}`),
    },
  });
  let startedAt = Number.POSITIVE_INFINITY;
  const reconciling = (ports.reconcileDriver ?? ((r) => timerDriver(r, logger)))(reconciler);

  return {
    app,
    logger,
    async start() {
      startedAt = Date.now();
      await dispatcher.start();
      pullers = Object.entries(config.instances).flatMap(([instance, { pull }]) =>
        pull
          ? [
              {
                instance,
                puller: startPuller({
                  instance,
                  pull,
                  fetch: ports.fetch,
                  ingest,
                  logger,
                  metrics,
                  now: Date.now,
                  lease: {
                    take: (ttlMs) => store.takeLease(`pull:${instance}`, Date.now(), ttlMs),
                    drop: () => store.dropLease(`pull:${instance}`),
                  },
                }),
              },
            ]
          : [],
      );
      await reconciling.start();
      archiving?.start();
    },
    async stop(graceMs) {
      await Promise.all([...pullers.map(({ puller }) => puller.stop()), reconciling.stop(), archiving?.stop()]);
      await dispatcher.stop(graceMs);
    },
  };
}

/** Passes on a timer, in the relay itself. */
function timerDriver(reconciler: Reconciler, logger: Logger): ReturnType<ReconcileDriver> {
  let loop: { stop(): Promise<void> } | undefined;
  return {
    async start() {
      loop = startReconcileLoop(reconciler, logger);
    },
    async stop() {
      await loop?.stop();
    },
  };
}
