// The SQL store's operations as plans: generators that yield their statements one at a time and
// get each result back. A runner drives them, synchronously on SQLite (inside one synchronous
// transaction, as the embedded runtimes need) or asynchronously on Postgres. So the store is
// written once (sql-store.ts and its siblings), and what the databases do differently is in
// SqlDialect: how a list travels in one parameter, and how due rows are claimed.
import type { SqlDriver, SqlValue } from './sql-driver.ts';

export interface Statement {
  sql: string;
  params: readonly SqlValue[];
  /** The rows it returns are wanted (else: how many rows it changed). */
  rows: boolean;
}

export type Plan<T> = Generator<Statement, T, unknown>;

/** A statement whose rows are wanted. */
export function* all<Row>(sql: string, params: readonly SqlValue[] = []): Plan<Row[]> {
  return (yield { sql, params, rows: true }) as Row[];
}

/** A statement whose count of changed rows is wanted. */
export function* run(sql: string, params: readonly SqlValue[] = []): Plan<number> {
  return (yield { sql, params, rows: false }) as number;
}

/** The due rows a claim asks for: `where` is extra SQL on `d` (the deliveries row) with `params`. */
export interface DueDeliveries {
  target: string;
  now: number;
  limit: number;
  leaseEnd: number;
  where: string;
}

/** A delivery just leased; its event's texts are read once per claim, for all its targets (sql-store.ts). */
export interface ClaimedRow {
  id: number;
  event_id: string;
  attempts: number;
}

/** What differs between the databases, and nothing else. */
export interface SqlDialect {
  /** A table of one text column `value` from a JSON array in one parameter: `x IN (SELECT value FROM ${each})`. */
  readonly each: string;
  /**
   * Who holds the leases this store takes, when several relays share the database; null for a
   * store with one owner (SQLite: the data folder's lock says so), where a lease is never contested.
   */
  readonly holder: string | null;
  /** Leases the due deliveries of one target until `leaseEnd` and returns them, oldest first, never one another relay holds. */
  claimDeliveries(due: DueDeliveries): Plan<ClaimedRow[]>;
  /** Leases up to `limit` due media jobs until `leaseEnd` and returns their rows, oldest first. */
  claimMedia(now: number, limit: number, leaseEnd: number): Plan<Record<string, unknown>[]>;
}

/** How the store's plans reach its database. */
export interface SqlRunner {
  readonly dialect: SqlDialect;
  /** Runs a plan without a transaction of its own (reads, single statements). */
  read<T>(plan: () => Plan<T>): Promise<T>;
  /** Runs a plan in one transaction: all of its writes or none. */
  transaction<T>(plan: () => Plan<T>): Promise<T>;
  /**
   * Runs a plan in the next group commit (batch.ts): the plans of one turn share one transaction.
   * `durable: false` (claims, attempt records): it need not wait for the disk (a commit of only
   * such writes is not synced by SqlDriver flush, and one shared with a durable plan settles them
   * without waiting). Losing such a write to a power cut only sends a delivery again, which
   * at-least-once allows; a crash of the process loses nothing either way.
   */
  batched<T>(plan: () => Plan<T>, durable?: boolean): Promise<T>;
}

/** Drives a plan to its end against a synchronous driver. */
export function runSync<T>(db: SqlDriver, plan: Plan<T>): T {
  let step = plan.next();
  while (!step.done) {
    const { sql, params, rows } = step.value;
    step = plan.next(rows ? db.all(sql, params) : db.run(sql, params));
  }
  return step.value;
}
