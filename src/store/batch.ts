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
