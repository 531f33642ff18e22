// The relay on Node, as a function: SQLite file store, dispatcher loop and HTTP server, wired
// from the ports. The `npm start` entry (node.ts) and the tests both start it through here.
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRelay } from '../app.ts';
import type { RelayConfig } from '../config.ts';
import { createDispatcher } from '../delivery/dispatcher.ts';
import type { RelayEvent } from '../event.ts';
import { createRedactingLogger, type Logger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { startPuller } from '../pull/puller.ts';
import { createSqlStore } from '../store/sql-store.ts';
import { VERSION } from '../version.ts';
import { openBetterSqlite, type BetterSqliteDriver } from './better-sqlite3-driver.ts';
import { undiciPost } from './undici-post.ts';

export interface NodeRelayOptions {
  config: RelayConfig;
  /** Folder of the SQLite file (created if missing). */
  dataDir: string;
  port: number;
  hostname?: string;
  logger: Logger;
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
}

export interface NodeRelay {
  url: string;
  port: number;
  /** The store's SQLite connection (diagnostics, and tests that make the disk fail). */
  db: BetterSqliteDriver;
  /** Stops taking notifications, gives attempts in flight `graceMs` (default 10 s) to finish, closes the store. */
  close(graceMs?: number): Promise<void>;
}

export const DB_FILE = 'relay.db';

export async function startNodeRelay(options: NodeRelayOptions): Promise<NodeRelay> {
  const { config } = options;
  const logger = config.logs.redact ? createRedactingLogger(options.logger) : options.logger;
  const metrics = createMetrics();
  mkdirSync(options.dataDir, { recursive: true });
  const db = openBetterSqlite(join(options.dataDir, DB_FILE));
  const store = createSqlStore(db, { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs, defer: setImmediate });
  const dispatcher = createDispatcher({
    store,
    targets: config.targets,
    post: undiciPost,
    logger,
    metrics,
    now: Date.now,
    userAgent: `green-relay/${VERSION}`,
  });
  const { app, ingestor } = createRelay({
    config,
    store,
    logger,
    metrics,
    sha256: (text) => createHash('sha256').update(text).digest(),
    clientAddress: (c) => getConnInfo(c).remote.address,
    onDue: () => dispatcher.wake(),
    onAccepted: options.onAccepted,
  });

  await dispatcher.start();
  const pullers = Object.entries(config.instances).flatMap(([instance, { pull }]) =>
    pull ? [startPuller({ instance, pull, fetch: globalThis.fetch, ingestor, store, logger, metrics, now: Date.now })] : [],
  );
  const server = await listen(app.fetch, options.port, options.hostname ?? '0.0.0.0');
  const { port } = server.address() as AddressInfo;
  const host = options.hostname && options.hostname !== '0.0.0.0' ? options.hostname : 'localhost';
  logger.info('relay.started', { port, version: VERSION, targets: config.targets.map((t) => t.name) });

  return {
    url: `http://${host}:${port}`,
    port,
    db,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all(pullers.map((puller) => puller.stop()));
      await dispatcher.stop(graceMs);
      await closed;
      db.close();
      logger.info('relay.stopped');
    },
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, hostname: string) {
  return new Promise<ServerType & { closeIdleConnections(): void; address(): AddressInfo | string | null }>((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server as never));
    server.once('error', reject);
  });
}
