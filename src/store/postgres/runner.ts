// The SQL store's runner on Postgres, through the `postgres` client: plans run asynchronously,
// a group commit is one transaction whose plans run side by side (their statements pipelined on
// one connection, so a batch of ingests costs the round trips of one), and claims lock the rows
// they take with SKIP LOCKED, so that relays sharing the database never take the same delivery.
import type { Sql, TransactionSql } from 'postgres';
import { createBatcher } from '../batch.ts';
import type { SqlValue } from '../sql-driver.ts';
import { all, type ClaimedRow, type Plan, type SqlDialect, type SqlRunner, type Statement } from '../sql-plan.ts';

/** Deadlock and serialization failures: the whole transaction is tried again (its plans are made anew). */
const RETRY_CODES = new Set(['40P01', '40001']);
const RETRIES = 3;

/** Runs `work` in a transaction, again when Postgres cancels it for a deadlock or a serialization failure. */
export async function retriedTransaction<T>(client: Sql, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.begin(work)) as T;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= RETRIES || !code || !RETRY_CODES.has(code)) throw err;
    }
  }
}

export function postgresDialect(holder: string): SqlDialect {
  return {
    each: 'json_array_elements_text(CAST(CAST(? AS TEXT) AS JSON)) AS each (value)',
    holder,

    claimDeliveries({ target, now, limit, leaseEnd, where }) {
      return all<ClaimedRow>(
        `WITH due AS (
           SELECT d.id, d.next_at FROM deliveries d
           WHERE d.target = ? AND d.status = 'pending' AND d.next_at <= ? ${where}
           ORDER BY d.next_at, d.id LIMIT ? FOR UPDATE OF d SKIP LOCKED),
         claimed AS (
           UPDATE deliveries d SET leased = 1, holder = ?, next_at = ? FROM due WHERE d.id = due.id
           RETURNING d.id, d.event_id, d.attempts, due.next_at AS due_at)
         SELECT id, event_id, attempts FROM claimed ORDER BY due_at, id`,
        [target, now, limit, holder, leaseEnd],
      );
    },

    *claimMedia(now, limit, leaseEnd) {
      const rows = yield* all<Record<string, unknown> & { due_at: number }>(
        `WITH due AS (
           SELECT event_id, part, next_at FROM media WHERE status = 'pending' AND next_at <= ?
           ORDER BY next_at LIMIT ? FOR UPDATE SKIP LOCKED)
         UPDATE media m SET leased = 1, holder = ?, next_at = ? FROM due
         WHERE m.event_id = due.event_id AND m.part = due.part RETURNING m.*, due.next_at AS due_at`,
        [now, limit, holder, leaseEnd],
      );
      return rows.sort((a, b) => a.due_at - b.due_at);
    },
  };
}

/** `?` placeholders (the store's, as SQLite takes them) as Postgres's `$1, $2…`; quoted text is left alone. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'[^']*'|\?/g, (match) => (match === '?' ? `$${++n}` : match));
}

export function postgresRunner(client: Sql, holder: string): SqlRunner {
  const texts = new Map<string, string>();
  const textOf = (sql: string) => {
    let text = texts.get(sql);
    if (text === undefined) texts.set(sql, (text = numbered(sql)));
    return text;
  };
  // Numbers go typed, so that Postgres never has to guess (a parameter in a SELECT list, a CASE).
  const value = (v: SqlValue) =>
    typeof v === 'number' ? client.typed(v as never, Number.isInteger(v) ? 20 : 701) : (v as never);

  async function execute(sql: Sql | TransactionSql, { sql: text, params, rows }: Statement): Promise<unknown> {
    const result = await sql.unsafe(textOf(text), params.map(value), { prepare: true });
    return rows ? result : result.count;
  }

  async function drive<T>(sql: Sql | TransactionSql, plan: Plan<T>): Promise<T> {
    let step = plan.next();
    while (!step.done) step = plan.next(await execute(sql, step.value));
    return step.value;
  }

  const transaction = <T>(work: (tx: TransactionSql) => Promise<T>) => retriedTransaction(client, work);

  // One commit at a time (batch.ts waits for it): the writes that come in meanwhile share the next.
  // Every commit is durable here: `durable: false` is not used on Postgres (see the note of issue 17).
  const commit = createBatcher((plans: (() => Plan<unknown>)[]) =>
    transaction((tx) => Promise.all(plans.map((plan) => drive(tx, plan())))),
  );

  return {
    dialect: postgresDialect(holder),
    read: (plan) => drive(client, plan()),
    transaction: (plan) => transaction((tx) => drive(tx, plan())),
    batched: <T>(plan: () => Plan<T>) => commit(plan) as Promise<T>,
  };
}
