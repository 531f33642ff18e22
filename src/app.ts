// createRelay: the Hono app every runtime serves. Routes only; the runtime hands in the ports
// (store, logger, clock, hashing, the peer's address) and runs the dispatcher, so nothing here
// touches a runtime global. A notification's way: receive.ts (the checks) -> ingest.ts (normalize,
// match targets, store) -> the dispatcher (delivery/), which the runtime drives.
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { createAdminApi } from './admin/api.ts';
import { createAlerter } from './alerts.ts';
import { createAdminAuth } from './admin/auth.ts';
import { createLiveFeed, publishAccepted, type SharedFeed } from './admin/live.ts';
import { createOperations } from './admin/operations.ts';
import { describeTargets } from './admin/targets.ts';
import type { RelayConfig } from './config.ts';
import { createTargetMatcher } from './delivery/filter.ts';
import type { RelayEvent } from './event.ts';
import { webCryptoSha256, type Sha256 } from './hash.ts';
import { errorResponse } from './http.ts';
import { createIngest, type Ingest } from './ingest.ts';
import { createInspector } from './inspector/routes.tsx';
import { describeError, type Logger } from './log.ts';
import type { MediaBlobs } from './media/blobs.ts';
import type { MediaLinks } from './media/links.ts';
import { createMediaRoutes } from './media/routes.ts';
import { storeGauges, type Metrics } from './metrics.ts';
import { callerAddress, networks } from './net/address.ts';
import { createReceiver } from './receive.ts';
import type { AppStore } from './store/store.ts';

export interface RelayPorts {
  config: RelayConfig;
  store: AppStore;
  logger: Logger;
  /** Epoch ms; tests may pin it. */
  now?: () => number;
  /** SHA-256 for event ids and token checks; WebCrypto when absent. */
  sha256?: Sha256;
  metrics?: Metrics;
  /**
   * The address of the request's peer (the socket's; Workers: CF-Connecting-IP). Behind a proxy
   * listed in receive.trustedProxies, the caller is read from the headers it forwards.
   */
  peerAddress?: (c: Context) => string | undefined;
  /** What the admin surface answers when no admin token is configured (a runtime that cannot generate one says how to set it). */
  adminClosedReason?: string;
  /** Deliveries became due (an event accepted, replayed or released): the runtime wakes its dispatcher. */
  onDue?: () => void;
  /** An operator paused or resumed a target: the runtime's dispatcher reads the targets again. */
  onTargetsChanged?: () => void;
  /** Called after each accepted event (demo output). */
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
  /** The media archive (media.archive on): where files are kept, how links are signed. */
  media?: { blobs: MediaBlobs; links: MediaLinks };
  /** An event with files to archive was stored: the runtime wakes its archiver. */
  onMedia?: () => void;
  /** Where relays share a store, how the live list reaches the others (Postgres: LISTEN/NOTIFY). */
  sharedFeed?: SharedFeed;
}

/** How far back the targets page and its success rates look. */
const STATS_WINDOW_MS = 24 * 3_600_000;

export interface Relay {
  app: Hono;
  /** The one ingest path, for notifications that arrive another way (pull mode). */
  ingest: Ingest;
}

export function createRelay(ports: RelayPorts): Relay {
  const { config, store, logger, metrics } = ports;
  const now = ports.now ?? Date.now;
  const sha256 = ports.sha256 ?? webCryptoSha256;
  const live = createLiveFeed(ports.sharedFeed);
  const alerter = createAlerter({
    store,
    targets: config.targets,
    sha256,
    now,
    logger,
    metrics,
    groupEveryMs: config.alerts.groupEveryMs,
    onDue: ports.onDue,
  });
  const ingest = createIngest({
    alerter,
    config,
    store,
    logger,
    metrics,
    now,
    sha256,
    onMedia: ports.onMedia,
    onAccepted(event, targets, preview) {
      if (targets.length > 0) ports.onDue?.();
      ports.onAccepted?.(event, targets);
      publishAccepted(live, event, targets, preview, now());
    },
  });
  const receive = createReceiver({ config, ingest, logger, metrics, now, sha256 });
  const admin = createAdminAuth(
    config.admin.token,
    sha256,
    ports.adminClosedReason ?? 'no admin token is configured (admin.token)',
  );
  const trustedProxies = networks(config.receive.trustedProxies);
  const caller = (c: Context) => callerAddress(ports.peerAddress?.(c), c.req.raw.headers, trustedProxies);
  const operations = createOperations({
    config,
    store,
    ingest,
    alerter,
    matchTargets: createTargetMatcher(config.targets),
    logger,
    now,
    onDue: ports.onDue,
    onTargetsChanged: ports.onTargetsChanged,
  });
  const targetStats = () => store.targetStats(now() - STATS_WINDOW_MS);
  const targets = async () => {
    const [stats, states] = await Promise.all([targetStats(), store.targetStates()]);
    return describeTargets(config, stats, states, now());
  };
  const app = new Hono();

  app.post('/webhook', (c) => receive(c.req.raw, caller(c)));

  app.get('/healthz', async (c) => {
    try {
      await store.ping();
      return c.json({ status: 'ok' });
    } catch (err) {
      logger.error('store.unavailable', { error: describeError(err) });
      return errorResponse('unavailable', 'the store cannot take notifications');
    }
  });

  app.get('/metrics', admin.middleware(), async (c) => {
    // Without process-wide counters (Workers: many isolates), the store's gauges are what is true.
    const [stats, states] = await Promise.all([targetStats(), store.targetStates()]);
    const view = { stats, states, targets: config.targets.map((t) => t.name) };
    const text = metrics ? metrics.render(view) : `${storeGauges(view).join('\n')}\n`;
    return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.use('/api/*', admin.middleware());
  app.get('/api/stream', (c) => live.stream(c));
  app.route('/api', createAdminApi({ config, store, operations, targets }));

  if (ports.media) app.route('/', createMediaRoutes({ store, ...ports.media, now }));
  app.route(
    '/',
    createInspector({ config, store, admin, operations, targetStats, targets, now, media: ports.media?.links }),
  );

  app.notFound((c) => errorResponse('not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err) => {
    // A refusal that carries its answer (an operator's request that cannot be done, a middleware's 4xx).
    if (err instanceof HTTPException) return err.getResponse();
    logger.error('request.failed', { error: describeError(err) });
    return errorResponse('internal', 'internal error');
  });
  return { app, ingest };
}
