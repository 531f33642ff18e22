// Group commit for the SQL store. A write waits for the disk (in the commit, or on Node for the
// WAL's sync after it) or the network (Postgres), so the writes that arrive within one turn of
// the event loop share one transaction: at low load a batch is one write, and under load the work
// per commit grows instead of the number of commits. An asynchronous commit runs one at a time;
// what comes in meanwhile waits for it and goes into the next.

interface Waiting<I, O> {
  item: I;
  resolve(result: O): void;
  reject(err: unknown): void;
}

/** Schedules a function to run once the I/O callbacks of this turn are done (Node: setImmediate). */
export type Defer = (fn: () => void) => void;

export const deferToTimer: Defer = (fn) => void setTimeout(fn, 0);

/**
 * How a group commit is timed: `defer` schedules it, and `light`, if given, is told after a
 * commit that wrote nothing durable (no write in it waits for the disk).
 */
export interface CommitPace {
  defer: Defer;
  light?(): void;
}

/**
 * The pace for a batcher whose commits cost CPU rather than a wait (the WAL's sync runs off the
 * thread: Node's store thread, Deno): the commit runs after this turn's I/O (`immediate`), and no
 * sooner than `gapMs` after the previous durable one. At low load that is at once; under load, the
 * writes of that gap share one commit, and one wait for the disk, instead of each turn paying its
 * own. A light commit (the dispatcher's claims and attempt records) holds no later one back, so an
 * ingest arriving after it need not wait out a gap that shares no sync. `runNow` runs a commit
 * still waiting for its gap at once (before the database closes).
 */
export function createGapDefer(gapMs: number, immediate: Defer): Required<CommitPace> & { runNow(): void } {
  /** When the last durable commit began; `before` is what it was before the one that began last. */
  let last = Number.NEGATIVE_INFINITY;
  let before = last;
  /** The commit waiting for its turn: one at most, since it serves one batcher. */
  let waiting: (() => void) | null = null;
  const runNow = () => {
    const commit = waiting;
    waiting = null;
    before = last;
    last = performance.now();
    commit?.();
  };
  return {
    defer(commit) {
      waiting = commit;
      const wait = last + gapMs - performance.now();
      if (wait <= 0) immediate(runNow);
      else setTimeout(runNow, wait);
    },
    light: () => void (last = before),
    runNow,
  };
}

/** Calls `run` once for all the items handed in before `defer` fires; each caller gets its own result. */
export function createBatcher<I, O>(
  run: (items: I[]) => O[] | Promise<O[]>,
  defer: Defer = deferToTimer,
): (item: I) => Promise<O> {
  let waiting: Waiting<I, O>[] = [];
  let committing = false;
  const settle = (batch: Waiting<I, O>[], results: O[]) => batch.forEach((entry, i) => entry.resolve(results[i]!));
  const fail = (batch: Waiting<I, O>[], err: unknown) => batch.forEach((entry) => entry.reject(err));
  const flush = () => {
    const batch = waiting;
    waiting = [];
    let results: O[] | Promise<O[]>;
    try {
      results = run(batch.map((entry) => entry.item));
    } catch (err) {
      fail(batch, err);
      return;
    }
    if (!(results instanceof Promise)) return settle(batch, results);
    committing = true;
    results
      .then(
        (done) => settle(batch, done),
        (err: unknown) => fail(batch, err),
      )
      .finally(() => {
        committing = false;
        if (waiting.length > 0) defer(flush);
      });
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (waiting.push({ item, resolve, reject }) === 1 && !committing) defer(flush);
    });
}
