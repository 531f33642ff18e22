// The relay's own state on SQL, beside the events: each target's circuit and pause, the counts of
// grouped alerts, and a few values kept between starts. Same driver as sql-store.ts; written by
// the dispatcher on transitions and by operators, never on the answer path.
import { all, run, type SqlRunner } from './sql-plan.ts';
import type { AlertCount, ControlStore, Store, TargetState } from './store.ts';

export const CONTROL_SCHEMA = `
CREATE TABLE IF NOT EXISTS targets (
  name        TEXT PRIMARY KEY,
  version     INTEGER NOT NULL,          -- bumped by every write: dispatchers compare and set
  paused      INTEGER NOT NULL DEFAULT 0,
  paused_at   INTEGER,
  opened_at   INTEGER,                   -- the circuit is open since then; NULL: closed
  failures    INTEGER NOT NULL DEFAULT 0,
  probe_at    INTEGER,
  probes      INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_counts (
  key       TEXT PRIMARY KEY,            -- dead:<target>, quarantined
  count     INTEGER NOT NULL,
  first_at  INTEGER NOT NULL,
  last_at   INTEGER NOT NULL,
  sample    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS relay_state (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS relay_leases (
  name        TEXT PRIMARY KEY,          -- pull:<instance>, reconcile:<instance>, prune
  holder      TEXT NOT NULL,             -- the relay doing it
  until_at    INTEGER NOT NULL           -- after this, any relay may take it
);

CREATE TABLE IF NOT EXISTS rate_slots (
  target      TEXT PRIMARY KEY,          -- a rate-limited target shared by several relays
  next_at     INTEGER NOT NULL           -- its next free start
);
`;

interface TargetRow {
  name: string;
  version: number;
  paused: number;
  paused_at: number | null;
  opened_at: number | null;
  failures: number;
  probe_at: number | null;
  probes: number;
  last_error: string | null;
  updated_at: number;
}

const toState = (row: TargetRow): TargetState => ({
  target: row.name,
  version: row.version,
  paused: row.paused === 1,
  pausedAt: row.paused_at,
  openedAt: row.opened_at,
  failures: row.failures,
  probeAt: row.probe_at,
  probes: row.probes,
  lastError: row.last_error,
  updatedAt: row.updated_at,
});

export function createSqlControlStore(sql: SqlRunner): ControlStore & Pick<Store, 'expireHeld'> {
  const { holder } = sql.dialect;
  return {
    targetStates: () =>
      sql.read(function* () {
        return (yield* all<TargetRow>('SELECT * FROM targets ORDER BY name')).map(toState);
      }),

    setTargetPaused: (target, paused, now) =>
      sql.transaction(function* () {
        yield* run(
          `INSERT INTO targets (name, version, paused, paused_at, updated_at) VALUES (?, 1, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET version = targets.version + 1, paused = excluded.paused,
             paused_at = CASE WHEN targets.paused = 1 AND excluded.paused = 1 THEN targets.paused_at ELSE excluded.paused_at END, updated_at = excluded.updated_at`,
          [target, paused ? 1 : 0, paused ? now : null, now],
        );
        const [row] = yield* all<TargetRow>('SELECT * FROM targets WHERE name = ?', [target]);
        return toState(row!);
      }),

    saveTargetState: (s) =>
      sql.read(function* () {
        // The pause is an operator's: a dispatcher's write keeps whatever is stored.
        const changed = yield* run(
          `INSERT INTO targets (name, version, opened_at, failures, probe_at, probes, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET version = targets.version + 1, opened_at = excluded.opened_at, failures = excluded.failures,
           probe_at = excluded.probe_at, probes = excluded.probes, last_error = excluded.last_error, updated_at = excluded.updated_at
         WHERE targets.version = ?`,
          [s.target, s.version + 1, s.openedAt, s.failures, s.probeAt, s.probes, s.lastError, s.updatedAt, s.version],
        );
        return changed > 0;
      }),

    expireHeld: (target, before, error, now) =>
      sql.read(() =>
        run(
          `UPDATE deliveries SET status = 'dead', last_error = ?, updated_at = ?
         WHERE target = ? AND status = 'pending' AND leased = 0 AND updated_at < ?`,
          [error, now, target, before],
        ),
      ),

    countAlert: (key, at, sample, by = 1) =>
      sql.read(function* () {
        yield* run(
          `INSERT INTO alert_counts (key, count, first_at, last_at, sample) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET count = alert_counts.count + excluded.count, last_at = excluded.last_at, sample = excluded.sample`,
          [key, by, at, at, sample],
        );
      }),

    takeAlertCounts: (before) =>
      sql.transaction(function* () {
        // One statement, so that two relays taking at once cannot both send the same counts.
        const rows = yield* all<{ key: string; count: number; first_at: number; last_at: number; sample: string }>(
          'DELETE FROM alert_counts WHERE first_at < ? RETURNING key, count, first_at, last_at, sample',
          [before],
        );
        const [left] = yield* all<{ next: number | null }>('SELECT MIN(first_at) AS next FROM alert_counts');
        const taken = rows.map((r): AlertCount => ({
          key: r.key,
          count: r.count,
          firstAt: r.first_at,
          lastAt: r.last_at,
          sample: r.sample,
        }));
        return { taken, next: left?.next ?? null };
      }),

    readState: (key) =>
      sql.read(function* () {
        const [row] = yield* all<{ value: string }>('SELECT value FROM relay_state WHERE key = ?', [key]);
        return row?.value ?? null;
      }),

    writeState: (key, value, now) =>
      sql.read(function* () {
        yield* run(
          'INSERT INTO relay_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          [key, value, now],
        );
      }),

    // A store with one owner has nothing to share: every lease is its own.
    takeLease: (name, now, ttlMs) =>
      holder === null
        ? Promise.resolve(true)
        : sql.read(function* () {
            const taken = yield* run(
              `INSERT INTO relay_leases (name, holder, until_at) VALUES (?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at
               WHERE relay_leases.holder = excluded.holder OR relay_leases.until_at <= ?`,
              [name, holder, now + ttlMs, now],
            );
            return taken > 0;
          }),

    reserveStart: (target, now, intervalMs) =>
      holder === null
        ? Promise.resolve(null)
        : sql.read(function* () {
            const [row] = yield* all<{ next_at: number }>(
              `INSERT INTO rate_slots (target, next_at) VALUES (?, ?)
               ON CONFLICT (target) DO UPDATE SET
                 next_at = CASE WHEN rate_slots.next_at > ? THEN rate_slots.next_at ELSE ? END + ?
               RETURNING next_at`,
              [target, now + intervalMs, now, now, intervalMs],
            );
            return row!.next_at - intervalMs;
          }),

    dropLease: (name) =>
      holder === null
        ? Promise.resolve()
        : sql.read(function* () {
            yield* run('DELETE FROM relay_leases WHERE name = ? AND holder = ?', [name, holder]);
          }),
  };
}
