// The store thread: the SQL store on better-sqlite3 and the dispatcher that delivers from it,
// beside the main thread, which only answers HTTP. Deliveries cost CPU and a commit only writes
// the WAL: the fdatasync an answer waits for runs in libuv's pool (sqlite-driver.ts), so neither
// the disk nor the deliveries hold up the answers. While the thread commits, the main
// thread's next calls queue up and share the next commit.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createDispatchLoop, type DispatchLoop } from '../../../delivery/dispatch-loop.ts';
import type { Logger, LogFields } from '../../../log.ts';
import { createGapDefer } from '../../../store/batch.ts';
import { createSqlStore, type SqlStore } from '../../../store/sql-store.ts';
import type { NewEvent } from '../../../store/store.ts';
import { openBetterSqlite, type BetterSqliteDriver } from '../sqlite-driver.ts';
import {
  gathered,
  soon,
  toThreadError,
  type Call,
  type Count,
  type FromThread,
  type Notes,
  type Reply,
  type ThreadData,
  type ToThread,
} from './protocol.ts';
import { undiciPost } from '../undici-post.ts';

const port = parentPort!;
const post = (message: FromThread) => port.postMessage(message);
const { file, options } = workerData as ThreadData;

/** Commits at most every 2 ms under load (store/batch.ts); a longer gap saved little CPU and lengthened every answer. */
const commits = createGapDefer(2, setImmediate);

let db: BetterSqliteDriver;
let store: SqlStore;
try {
  db = openBetterSqlite(file);
  store = createSqlStore(db, { ...options, pace: commits });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', error: toThreadError(err) });
  process.exit(1);
}

let replies: Reply[] = [];
/** The sends the turn's ingests leased: they start once the replies are out (dispatch-loop.ts afterAnswer). */
let afterReplies: (() => void)[] = [];
const sendReplies = soon(() => {
  if (replies.length > 0) post({ type: 'replies', replies });
  replies = [];
  const starts = afterReplies;
  afterReplies = [];
  for (const start of starts) start();
});
const reply = (r: Reply) => {
  replies.push(r);
  sendReplies();
};

// Logs and counts wait up to 10 ms for company: a message per delivery cost ~6 % of the relay's
// CPU per notification, three targets at an even 700/s (measured in the note of issue 17).
let notes: Notes = { logs: [], counts: [] };
const sendNotes = gathered(10, () => {
  post({ type: 'notes', ...notes });
  notes = { logs: [], counts: [] };
});
const log = (level: Notes['logs'][number][0]) => (event: string, fields?: LogFields) => {
  notes.logs.push([level, event, fields]);
  sendNotes.ask();
};
const logger: Logger = { info: log('info'), warn: log('warn'), error: log('error') };
const count = (entry: Count) => {
  notes.counts.push(entry);
  sendNotes.ask();
};
const metrics = {
  attempted: (target: string, outcome: string, latencyMs: number) => count(['attempted', target, outcome, latencyMs]),
  alerted: (type: string) => count(['alerted', type]),
  probed: (target: string, outcome: string) => count(['probed', target, outcome]),
  rateLimited: (target: string) => count(['rateLimited', target]),
};

let dispatcher: DispatchLoop | undefined;

function run(call: Call): Promise<unknown> {
  switch (call.method) {
    case 'exec':
      return Promise.resolve(db.exec(call.args[0]));
    case 'start': {
      // node:crypto is quicker than WebCrypto on Node, for the ids of alerts raised here.
      const sha256 = (text: string) => createHash('sha256').update(text).digest();
      dispatcher = createDispatchLoop({
        ...call.args[0],
        store,
        ingestLeased: store.ingestLeased,
        afterAnswer: (start) => {
          afterReplies.push(start);
          sendReplies();
        },
        post: undiciPost,
        logger,
        metrics,
        now: Date.now,
        sha256,
      });
      return dispatcher.start();
    }
    case 'stop':
      return dispatcher?.stop(call.args[0]) ?? Promise.resolve();
    case 'targetsChanged':
      return Promise.resolve(dispatcher?.targetsChanged());
    case 'ingest':
      // Through the dispatcher, which sends at once what its targets can take (dispatch-loop.ts).
      return dispatcher ? dispatcher.ingest(call.args[0] as NewEvent) : store.ingest(call.args[0] as NewEvent);
    default:
      return (store[call.method] as (...args: unknown[]) => Promise<unknown>)(...call.args);
  }
}

port.on('message', (message: ToThread) => {
  if (message.type === 'close') {
    // After this turn's calls: the commit that may be waiting for its gap runs first.
    setImmediate(() => {
      commits.runNow();
      db.close();
      sendNotes.now();
      port.close();
    });
    return;
  }
  for (const call of message.calls) {
    Promise.resolve(call)
      .then(run)
      .then(
        (value) => reply({ id: call.id, value }),
        (err: unknown) => reply({ id: call.id, error: toThreadError(err) }),
      );
  }
  // Any other call may have made deliveries due (a replay, a release); the dispatcher's look
  // comes after this turn's commit. An ingest wakes it itself when it left something to claim.
  if (message.calls.some((call) => call.method !== 'ingest')) dispatcher?.wake();
});
