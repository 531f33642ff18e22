// The relay on Node, as a function: @hono/node-server and node:crypto on the main thread, which
// only answers; the better-sqlite3 file store and the dispatcher (undici) in a store thread. On
// Postgres (databaseUrl), the store and the dispatcher run on the main thread: the database does
// the waiting. The `npm start` entry (node.ts) and the tests both start it through here.
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RelayConfig } from '../../config.ts';
import type { RelayEvent } from '../../event.ts';
import type { Logger } from '../../log.ts';
import { createProcessRelay } from '../../process-relay.ts';
import { VERSION } from '../../version.ts';
import { openBetterSqliteLock } from './sqlite-driver.ts';
import { DB_FILE, lockDataDir, MEDIA_DIR, withAdminToken, withMediaKey } from '../data-dir.ts';
import { fileBlobs } from '../file-blobs.ts';
import { guardedFetch } from '../guarded-fetch.ts';
import { startStoreThread } from './store-thread/client.ts';
import { undiciPost } from './undici-post.ts';
import type { DispatcherFactory } from '../../delivery/dispatcher.ts';
import { openPostgresStore } from '../../store/postgres/store.ts';
import type { Store } from '../../store/store.ts';
import type { SharedFeed } from '../../admin/live.ts';

export interface NodeRelayOptions {
  config: RelayConfig;
  /** Folder of the SQLite file (created if missing), the generated admin token and archived files. */
  dataDir: string;
  /** A Postgres URL (RELAY_DATABASE_URL): the store is there, shared with other relays, instead of in dataDir. */
  databaseUrl?: string;
  /** This relay's name among those sharing the database (RELAY_ID); default host name and process id. */
  relayId?: string;
  port: number;
  hostname?: string;
  logger: Logger;
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
}

export interface NodeRelay {
  url: string;
  port: number;
  /** The admin token in use, and the file it was generated into when the config named none. */
  admin: { token: string; generated?: string };
  /** Statements on the store's own connection (diagnostics, and tests that make the disk fail). */
  db: { exec(sql: string): Promise<void> };
  /** Stops taking notifications, gives attempts in flight `graceMs` (default 10 s) to finish, closes the store. */
  close(graceMs?: number): Promise<void>;
}

/** Where the store lives and what drives deliveries from it. */
interface Backend {
  store: Store;
  /** Absent: the in-process loop, on this thread. */
  dispatcher?: DispatcherFactory;
  /** Where relays share the store: the live list across them. */
  sharedFeed?: SharedFeed;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function openBackend(options: NodeRelayOptions, config: RelayConfig): Promise<Backend> {
  const windows = { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs };
  if (options.databaseUrl) {
    const store = await openPostgresStore({
      url: options.databaseUrl,
      holder: options.relayId ?? `${hostname()}:${process.pid}`,
      ...windows,
    });
    return { store, sharedFeed: store.feed, exec: store.exec, close: store.close };
  }
  const thread = await startStoreThread(
    join(options.dataDir, DB_FILE),
    windows,
    // Every store call fails from now on: answers are 503 and /healthz says so.
    (err) => options.logger.error('store.failed', { error: err.message }),
  );
  return { store: thread.store, dispatcher: (deps) => thread.dispatcher(deps), exec: thread.exec, close: thread.close };
}

export async function startNodeRelay(options: NodeRelayOptions): Promise<NodeRelay> {
  mkdirSync(options.dataDir, { recursive: true });
  // Throws DataDirInUse when another relay holds the folder. Relays sharing a database may share
  // a folder too (its admin token and archived files): the database is what they coordinate on.
  const lock = options.databaseUrl ? { release() {} } : lockDataDir(options.dataDir, openBetterSqliteLock);
  try {
    const admitted = withAdminToken(options.config, options.dataDir);
    const { generated } = admitted;
    const config = withMediaKey(admitted.config, options.dataDir);
    const backend = await openBackend(options, config);
    const relay = createProcessRelay({
      config,
      store: backend.store,
      logger: options.logger,
      dispatcher: backend.dispatcher,
      sharedFeed: backend.sharedFeed,
      post: undiciPost,
      fetch: globalThis.fetch,
      sha256: (text) => createHash('sha256').update(text).digest(),
      peerAddress: (c) => getConnInfo(c).remote.address,
      onAccepted: options.onAccepted,
      media: config.media ? { blobs: fileBlobs(join(options.dataDir, MEDIA_DIR)), fetchFile: guardedFetch } : undefined,
    });
    const { logger } = relay;

    await relay.start();
    const server = await listen(relay.app.fetch, options.port, options.hostname ?? '0.0.0.0');
    const { port } = server.address() as AddressInfo;
    const host = options.hostname && options.hostname !== '0.0.0.0' ? options.hostname : 'localhost';
    logger.info('relay.started', { port, version: VERSION, targets: config.targets.map((t) => t.name) });
    return {
      url: `http://${host}:${port}`,
      port,
      admin: { token: config.admin.token!, generated },
      db: backend,
      async close(graceMs) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await relay.stop(graceMs);
        await closed;
        await backend.close();
        lock.release();
        logger.info('relay.stopped');
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, hostname: string) {
  return new Promise<ServerType & { closeIdleConnections(): void; address(): AddressInfo | string | null }>(
    (resolve, reject) => {
      const server = serve({ fetch, port, hostname }, () => resolve(server as never));
      server.once('error', reject);
    },
  );
}
