// The store thread (main.ts) as the main thread sees it: a Store whose calls cross to the
// thread, and the Dispatcher that runs there. Every Store method is already async, so the relay
// cannot tell the difference; the calls of one event-loop turn travel as one message.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Dispatcher, DispatcherOptions } from '../../../delivery/dispatcher.ts';
import type { Store } from '../../../store/store.ts';
import {
  fromThreadError,
  soon,
  STORE_METHODS,
  type Call,
  type FromThread,
  type Notes,
  type ThreadData,
  type ToThread,
} from './protocol.ts';

export interface StoreThread {
  store: Store;
  /**
   * The dispatcher loop in the thread. Of its options only the targets and the user agent cross;
   * its logs and counts come back to `logger` and `metrics` here, and the store it uses is the thread's.
   */
  dispatcher(options: DispatcherOptions): Dispatcher;
  /** Runs statements on the store's own connection (diagnostics, and tests that make the disk fail). */
  exec(sql: string): Promise<void>;
  /** Finishes the writes under way, then closes the database and the thread. */
  close(): Promise<void>;
}

/**
 * Starts the thread on the SQLite `file` and resolves once its tables are ready. `onFailure`
 * hears of a thread that stops by itself; every store call after that fails (answers are 503).
 */
export async function startStoreThread(
  file: string,
  options: ThreadData['options'],
  onFailure: (err: Error) => void,
): Promise<StoreThread> {
  const worker = startWorker({ file, options });
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  let outgoing: Call[] = [];
  let nextId = 1;
  let failure: Error | null = null;
  let closing = false;
  let onNotes = (_: Notes) => {};

  const fail = (err: Error) => {
    if (failure) return;
    failure = err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
    if (!closing) onFailure(err);
  };
  const send = (message: ToThread) => worker.postMessage(message);
  const flush = () => {
    const calls = outgoing;
    outgoing = [];
    if (calls.length > 0 && !failure) send({ type: 'calls', calls });
  };
  const flushSoon = soon(flush);
  const call = <T>(method: Call['method'], args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      outgoing.push({ id, method, args } as Call);
      flushSoon();
    });

  await new Promise<void>((resolve, reject) => {
    worker.once('message', (message: FromThread) => {
      if (message.type === 'ready') resolve();
      else
        reject(
          message.type === 'failed' ? fromThreadError(message.error) : new Error('the store thread did not start'),
        );
    });
    worker.once('error', reject);
  });
  worker.on('message', (message: FromThread) => {
    if (message.type === 'notes') onNotes(message);
    if (message.type !== 'replies') return;
    for (const r of message.replies) {
      const waiting = pending.get(r.id);
      pending.delete(r.id);
      if ('error' in r) waiting?.reject(fromThreadError(r.error));
      else waiting?.resolve(r.value);
    }
  });
  worker.on('error', (err) => fail(new Error(`the store thread failed: ${err.message}`)));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      fail(new Error(`the store thread stopped (exit code ${code})`));
      resolve();
    }),
  );

  return {
    store: Object.fromEntries(
      STORE_METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)]),
    ) as unknown as Store,
    dispatcher(deps) {
      onNotes = ({ logs, counts }) => {
        for (const [level, event, fields] of logs) deps.logger[level](event, fields);
        for (const [name, ...args] of counts)
          (deps.metrics?.[name] as ((...a: unknown[]) => void) | undefined)?.(...args);
      };
      return {
        start: () =>
          call('start', [
            {
              targets: [...deps.targets],
              userAgent: deps.userAgent,
              alertGroupEveryMs: deps.alertGroupEveryMs,
              media: deps.media,
            },
          ]),
        // The thread looks for due deliveries after every batch of store calls on its own.
        wake: () => {},
        targetsChanged: () => void call('targetsChanged', []),
        stop: (graceMs) => call('stop', [graceMs]),
      };
    },
    exec: (sql) => call('exec', [sql]),
    async close() {
      closing = true;
      flush();
      send({ type: 'close' });
      await exited;
    },
  };
}

/**
 * The thread's heap. Its data lives in SQLite; what it holds is the deliveries in flight and a
 * great deal of short-lived garbage, which V8's defaults (sized from the machine's memory) let grow
 * to ~150 MB before collecting it. Measured with 100,000 pending deliveries: 246 MB of RSS for the
 * process with the defaults, ~165 MB with these. 512 MB still holds 400 deliveries in flight of
 * 1 MiB each.
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 6, maxOldGenerationSizeMb: 512 };

/** Run from source (tests, tsx), the thread's TypeScript needs tsx's loader too; the bundle does not. */
function startWorker(data: ThreadData): Worker {
  // From source this file sits beside main.ts; bundled, it is part of dist/node.js beside dist/store-thread.js.
  const entry = new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './store-thread.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: data, resourceLimits: RESOURCE_LIMITS });
  // tsx's ESM API, found through its package.json: require.resolve would pick its CommonJS build.
  const require = createRequire(import.meta.url);
  const tsxPackage = require.resolve('tsx/package.json');
  const tsx = new URL(require(tsxPackage).exports['./esm/api'].import.default, pathToFileURL(tsxPackage)).href;
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: data, resourceLimits: RESOURCE_LIMITS });
}
