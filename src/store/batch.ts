// Group commit for the SQL store. A commit waits for the disk (synchronous=FULL), so the writes
// that arrive within one turn of the event loop share one transaction: at low load a batch is one
// write, and under load the work per commit grows instead of the number of commits.

interface Waiting<I, O> {
  item: I;
  resolve(result: O): void;
  reject(err: unknown): void;
}

/** Schedules a function to run once the I/O callbacks of this turn are done (Node: setImmediate). */
export type Defer = (fn: () => void) => void;

export const deferToTimer: Defer = (fn) => void setTimeout(fn, 0);

/** Calls `run` once for all the items handed in before `defer` fires; each caller gets its own result. */
export function createBatcher<I, O>(run: (items: I[]) => O[], defer: Defer = deferToTimer): (item: I) => Promise<O> {
  let waiting: Waiting<I, O>[] = [];
  const flush = () => {
    const batch = waiting;
    waiting = [];
    let results: O[];
    try {
      results = run(batch.map((entry) => entry.item));
    } catch (err) {
      for (const entry of batch) entry.reject(err);
      return;
    }
    batch.forEach((entry, i) => entry.resolve(results[i]!));
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (waiting.push({ item, resolve, reject }) === 1) defer(flush);
    });
}
