// createRelay: the Hono app every runtime serves. Routes only; the runtime hands in the ports
// (store, logger, clock, hashing, client address) and runs the dispatcher, so nothing here
// touches a runtime global.
import { Hono } from 'hono';
import { createAdminApi, summaryJson } from './admin/api.ts';
import type { Context } from 'hono';
import { createAdminAuth } from './admin/auth.ts';
import { createLiveFeed } from './admin/live.ts';
import { createOperations } from './admin/operations.ts';
import type { RelayConfig } from './config.ts';
import { createTargetMatcher } from './delivery/filter.ts';
import { preview } from './event-preview.ts';
import type { RelayEvent } from './event.ts';
import { webCryptoSha256, type Sha256 } from './hash.ts';
import { errorResponse } from './http.ts';
import { createInspector } from './inspector/routes.tsx';
import { describeError, type Logger } from './log.ts';
import { storeGauges, type Metrics } from './metrics.ts';
import { callerAddress, networks } from './net/address.ts';
import { createIngestor, createReceiver, type Ingestor } from './receive.ts';
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
  /** Called after each accepted event (demo output). */
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
}

/** How far back the targets page and its success rates look. */
const STATS_WINDOW_MS = 24 * 3_600_000;

export interface Relay {
  app: Hono;
  /** The normalize -> store path of POST /webhook, for notifications that arrive another way (pull mode). */
  ingestor: Ingestor;
}

export function createRelay(ports: RelayPorts): Relay {
  const { config, store, logger, metrics } = ports;
  const now = ports.now ?? Date.now;
  const sha256 = ports.sha256 ?? webCryptoSha256;
  const live = createLiveFeed();
  const receiverDeps = {
    ...ports,
    now,
    sha256,
    onAccepted: (event: RelayEvent, targets: string[]) => {
      if (targets.length > 0) ports.onDue?.();
      ports.onAccepted?.(event, targets);
      live.publish('event', () =>
        summaryJson({
        id: event.id,
        instance: event.greenapiinstance,
        type: event.type,
        subject: event.subject ?? null,
        receivedAt: Date.parse(event.data.receivedAt),
        duplicates: 0,
        preview: preview({ kind: event.data.message?.kind ?? null, text: event.data.message?.text ?? null, status: event.data.status?.value ?? null, state: event.data.state }),
        deliveries: targets.map((target) => ({ target, status: 'pending', attempts: 0, series: 0, leased: false, nextAt: null, lastStatus: null, lastError: null, updatedAt: now() })),
        }),
      );
    },
  };
  const ingestor = createIngestor(receiverDeps);
  const receive = createReceiver(receiverDeps, ingestor);
  const admin = createAdminAuth(config.admin.token, sha256, ports.adminClosedReason ?? 'no admin token is configured (admin.token)');
  const trustedProxies = networks(config.receive.trustedProxies);
  const caller = (c: Context) => callerAddress(ports.peerAddress?.(c), c.req.raw.headers, trustedProxies);
  const matchTargets = createTargetMatcher(config.targets);
  const operations = createOperations({ config, store, ingestor, matchTargets, logger, now, onDue: ports.onDue });
  const targetStats = () => store.targetStats(now() - STATS_WINDOW_MS);
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
    const stats = await targetStats();
    const text = metrics ? metrics.render(stats) : `${storeGauges(stats).join('\n')}\n`;
    return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.use('/api/*', admin.middleware());
  app.get('/api/stream', (c) => live.stream(c));
  app.route('/api', createAdminApi({ store, operations }));

  app.route('/', createInspector({ config, store, admin, operations, targetStats }));

  app.notFound((c) => errorResponse('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err) => {
    logger.error('request.failed', { error: describeError(err) });
    return errorResponse('internal', 'internal error');
  });
  return { app, ingestor };
}
