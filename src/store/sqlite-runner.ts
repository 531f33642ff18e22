// The SQL store's runner on the embedded SQLite drivers (better-sqlite3, node:sqlite, a Durable
// Object's storage): plans run synchronously, a group commit is one synchronous transaction, and
// one owner (the data folder's lock, or the object itself) means a claim needs no row locks.
import { createBatcher, type CommitPace } from './batch.ts';
import type { SqlDriver } from './sql-driver.ts';
import { all, run, runSync, type ClaimedRow, type Plan, type SqlDialect, type SqlRunner } from './sql-plan.ts';

export const SQLITE: SqlDialect = {
  each: 'json_each(?)',
  holder: null,

  *claimDeliveries({ target, now, limit, leaseEnd, where }) {
    const rows = yield* all<ClaimedRow>(
      `SELECT d.id, d.event_id, d.attempts FROM deliveries d
       WHERE d.target = ? AND d.status = 'pending' AND d.next_at <= ? ${where}
       ORDER BY d.next_at, d.id LIMIT ?`,
      [target, now, limit],
    );
    if (rows.length > 0)
      yield* run('UPDATE deliveries SET leased = 1, next_at = ? WHERE id IN (SELECT value FROM json_each(?))', [
        leaseEnd,
        JSON.stringify(rows.map((row) => row.id)),
      ]);
    return rows;
  },

  *claimMedia(now, limit, leaseEnd) {
    const rows = yield* all<{ event_id: string; part: string }>(
      "SELECT * FROM media WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
      [now, limit],
    );
    for (const row of rows)
      yield* run('UPDATE media SET leased = 1, next_at = ? WHERE event_id = ? AND part = ?', [
        leaseEnd,
        row.event_id,
        row.part,
      ]);
    return rows;
  },
};

export function sqliteRunner(db: SqlDriver, pace?: CommitPace): SqlRunner {
  const commit = createBatcher((items: { plan: () => Plan<unknown>; durable: boolean }[]) => {
    const durable = items.some((item) => item.durable);
    const results = db.transaction(() => items.map((item) => runSync(db, item.plan())));
    if (!durable) pace?.light?.();
    if (!durable || !db.flush) return results;
    // The durable writes settle once the disk has them; the batcher goes on to the next commit
    // meanwhile, and the others of this one settle at once.
    const flushed = db.flush();
    return results.map((result, i) => (items[i]!.durable ? flushed.then(() => result) : result));
  }, pace?.defer);
  return {
    dialect: SQLITE,
    read: async (plan) => runSync(db, plan()),
    transaction: async (plan) => db.transaction(() => runSync(db, plan())),
    batched: <T>(plan: () => Plan<T>, durable = true) => commit({ plan, durable }) as Promise<T>,
  };
}
