// createRelay: the Hono app every runtime serves. Routes only; the runtime hands in the ports
// (store, logger, clock) and runs the dispatcher, so nothing here touches a runtime global.
import { Hono } from 'hono';
import type { RelayConfig } from './config.ts';
import type { RelayEvent } from './event.ts';
import type { Sha256 } from './hash.ts';
import { errorResponse } from './http.ts';
import { describeError, type Logger } from './log.ts';
import { createReceiver } from './receive.ts';
import type { Store } from './store/store.ts';

export interface RelayPorts {
  config: RelayConfig;
  store: Store;
  logger: Logger;
  /** Epoch ms; tests may pin it. */
  now?: () => number;
  /** SHA-256 for event ids and token checks; WebCrypto when absent. */
  sha256?: Sha256;
  /** Called after each accepted event: the runtime wakes its dispatcher here. */
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
}

export function createRelay(ports: RelayPorts): Hono {
  const { store, logger } = ports;
  const receive = createReceiver({ ...ports, now: ports.now ?? Date.now });
  const app = new Hono();

  app.post('/webhook', (c) => receive(c.req.raw));

  app.get('/healthz', async (c) => {
    try {
      await store.ping();
      return c.json({ status: 'ok' });
    } catch (err) {
      logger.error('store.unavailable', { error: describeError(err) });
      return errorResponse('unavailable', 'the store cannot take notifications');
    }
  });

  app.notFound((c) => errorResponse('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err) => {
    logger.error('request.failed', { error: describeError(err) });
    return errorResponse('internal', 'internal error');
  });
  return app;
}
