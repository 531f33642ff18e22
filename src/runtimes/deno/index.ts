// `deno task start`: the relay on Deno. The same config, environment and demo mode as Node;
// Deno.serve; self-hosted, the SQL store over node:sqlite in RELAY_DATA_DIR with the dispatcher as
// an in-process loop, or on Postgres (RELAY_DATABASE_URL) shared with other relays; on Deno
// Deploy (no writable filesystem) or with RELAY_STORE=kv, the Deno KV store with deliveries woken
// through the KV queue.
import { getConnInfo } from 'hono/deno';
import { setImmediate } from 'node:timers';
import { fetchPost } from '../../delivery/http-post.ts';
import { createJsonLogger } from '../../log.ts';
import { createProcessRelay } from '../../process-relay.ts';
import { createKvStore } from '../../store/kv-store.ts';
import { createGapDefer } from '../../store/batch.ts';
import { createSqlStore } from '../../store/sql-store.ts';
import { DatabaseUnavailable, openPostgresStore } from '../../store/postgres/store.ts';
import { VERSION } from '../../version.ts';
import { demoBanner, eventLine, loadConfigOrExit, type Console } from '../config-file.ts';
import {
  DataDirInUse,
  DB_FILE,
  lockDataDir,
  MEDIA_DIR,
  signInLines,
  withAdminToken,
  withMediaKey,
} from '../data-dir.ts';
import { fileBlobs } from '../file-blobs.ts';
import { guardedFetch } from '../guarded-fetch.ts';
import { createKvQueue } from './kv-queue.ts';
import { openNodeSqlite, openNodeSqliteLock } from './sqlite-driver.ts';

const env = Deno.env.toObject();
const dataDir = env.RELAY_DATA_DIR ?? './data';
const encoder = new TextEncoder();
const io: Console = {
  say: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
  exit: (code) => Deno.exit(code),
};
const logger = createJsonLogger((line) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)));

const loaded = loadConfigOrExit(env, dataDir, io);
const { configPath, demoToken } = loaded;

/** SQLite in RELAY_DATA_DIR where the filesystem can be written; Deno KV otherwise (Deno Deploy), or with RELAY_STORE=kv. */
function writable(dir: string): boolean {
  try {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/.writable`, '');
    return true;
  } catch {
    return false;
  }
}
const canWrite = writable(dataDir);
const databaseUrl = env.RELAY_DATABASE_URL || undefined;
const useKv = !databaseUrl && (env.RELAY_STORE === 'kv' || !canWrite);
// Self-hosted, the SQLite store's data folder is this relay's alone. A writable folder keeps a
// generated admin token; on Deno Deploy (none) it must be configured, or the admin surface stays closed.
let lock: { release(): void } | undefined;
if (!useKv && !databaseUrl) {
  try {
    lock = lockDataDir(dataDir, openNodeSqliteLock);
  } catch (err) {
    if (!(err instanceof DataDirInUse)) throw err;
    io.say(`green-relay did not start: ${err.message}\n`);
    io.exit(1);
  }
}
const admitted = canWrite ? withAdminToken(loaded.config, dataDir) : { config: loaded.config, generated: undefined };
const { generated } = admitted;
// The media archive keeps its files in the data folder: not on Deno KV (Deno Deploy has no folder to write).
if ((useKv || !canWrite) && admitted.config.media) {
  io.say(
    'green-relay did not start: media.archive needs a writable RELAY_DATA_DIR; it is not offered on the Deno KV store\n',
  );
  io.exit(78);
}
const config = canWrite ? withMediaKey(admitted.config, dataDir) : admitted.config;
const storeOptions = { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs };
const kv = useKv ? await Deno.openKv(env.RELAY_KV_PATH) : undefined;
const shared = databaseUrl
  ? await openPostgresStore({
      url: databaseUrl,
      holder: env.RELAY_ID || `${env.HOSTNAME ?? 'deno'}:${Deno.pid}`,
      ...storeOptions,
    }).catch((err: unknown) => {
      if (!(err instanceof DatabaseUnavailable)) throw err;
      io.say(`green-relay did not start: ${err.message}\n`);
      return io.exit(1) as never;
    })
  : undefined;
const db = kv || shared ? undefined : openNodeSqlite(`${dataDir}/${DB_FILE}`);
// As in Node's store thread: commits cost CPU (the WAL syncs off the thread), at most one per 2 ms.
const commits = createGapDefer(2, setImmediate);
const store =
  shared ?? (kv ? createKvStore(kv, storeOptions) : createSqlStore(db!, { ...storeOptions, pace: commits }));
const queue = kv ? createKvQueue(kv, fetchPost(fetch), logger) : undefined;
const relay = createProcessRelay({
  config,
  store,
  logger,
  fetch,
  peerAddress: (c) => getConnInfo(c).remote.address,
  adminClosedReason:
    'no admin token is configured: set admin.token in the configuration (Deno Deploy keeps no generated one)',
  onAccepted: demoToken ? (event) => io.say(eventLine(event)) : undefined,
  dispatcher: queue?.dispatcher,
  reconcileDriver: queue?.reconcileDriver,
  media: config.media ? { blobs: fileBlobs(`${dataDir}/${MEDIA_DIR}`), fetchFile: guardedFetch } : undefined,
  sharedFeed: shared?.feed,
});
await relay.start();

const server = Deno.serve(
  {
    port: Number(env.PORT ?? 8787),
    hostname: env.HOST ?? '0.0.0.0',
    onListen: ({ port, hostname }) => {
      relay.logger.info('relay.started', {
        port,
        version: VERSION,
        runtime: 'deno',
        store: shared ? 'postgres' : kv ? 'kv' : 'sqlite',
        targets: config.targets.map((t) => t.name),
      });
      const url = `http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${port}`;
      if (demoToken) io.say(demoBanner(url, demoToken, configPath));
      if (config.admin.token)
        io.say(`${signInLines(url, config.admin.token, generated, Deno.stderr.isTerminal()).join('\n')}\n`);
    },
  },
  relay.app.fetch,
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  relay.logger.info('relay.stopping', { signal });
  await server.shutdown();
  await relay.stop();
  commits.runNow();
  db?.close();
  kv?.close();
  await shared?.close();
  lock?.release();
  relay.logger.info('relay.stopped');
  Deno.exit(0);
}
Deno.addSignalListener('SIGTERM', () => void stop('SIGTERM'));
Deno.addSignalListener('SIGINT', () => void stop('SIGINT'));
