// The relay on Node, as a function: @hono/node-server and node:crypto on the main thread, which
// only answers; the better-sqlite3 file store and the dispatcher (undici) in a store thread. The
// `npm start` entry (node.ts) and the tests both start it through here.
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
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
import { startStoreThread, type StoreThread } from './store-thread/client.ts';

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
  /** The admin token in use, and the file it was generated into when the config named none. */
  admin: { token: string; generated?: string };
  /** Statements on the store's own SQLite connection (diagnostics, and tests that make the disk fail). */
  db: Pick<StoreThread, 'exec'>;
  /** Stops taking notifications, gives attempts in flight `graceMs` (default 10 s) to finish, closes the store. */
  close(graceMs?: number): Promise<void>;
}

export async function startNodeRelay(options: NodeRelayOptions): Promise<NodeRelay> {
  mkdirSync(options.dataDir, { recursive: true });
  // Throws DataDirInUse when another relay holds the folder.
  const lock = lockDataDir(options.dataDir, openBetterSqliteLock);
  try {
    const admitted = withAdminToken(options.config, options.dataDir);
    const { generated } = admitted;
    const config = withMediaKey(admitted.config, options.dataDir);
    const thread = await startStoreThread(
      join(options.dataDir, DB_FILE),
      { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs },
      // Every store call fails from now on: answers are 503 and /healthz says so.
      (err) => options.logger.error('store.failed', { error: err.message }),
    );
    const relay = createProcessRelay({
      config,
      store: thread.store,
      logger: options.logger,
      dispatcher: (deps) => thread.dispatcher(deps),
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
      db: thread,
      async close(graceMs) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await relay.stop(graceMs);
        await closed;
        await thread.close();
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
