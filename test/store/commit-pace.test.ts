// The group commit's pace on Node's store thread and Deno (store/batch.ts): a durable commit holds
// the next one back for the gap, a light one (claims, attempt records) holds nothing back; and the
// SQL store on a real file says which of its commits were light.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { createGapDefer, type CommitPace } from '../../src/store/batch.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { attempt, CONTRACT_OPTIONS, event, T0 } from './contract.ts';

describe('the commit gap', () => {
  afterEach(() => vi.useRealTimers());

  /** A gap of 2 ms on a clock the test moves; `ran` lists when each commit ran. */
  const paced = () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    const ran: number[] = [];
    const pace = createGapDefer(2, (fn) => fn());
    const commit = (light = false) =>
      pace.defer(() => {
        ran.push(performance.now());
        if (light) pace.light();
      });
    return { ran, commit, pace };
  };

  it('runs a commit at once, and the next no sooner than the gap after a durable one', () => {
    const { ran, commit } = paced();
    commit();
    commit();
    expect(ran).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(ran).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual([ran[0], ran[0]! + 2]);
  });

  it('keeps the gap from the last durable commit, not from a light one', () => {
    const { ran, commit } = paced();
    commit();
    vi.advanceTimersByTime(5);
    commit(true);
    commit();
    expect(ran).toEqual([0, 5, 5].map((t) => ran[0]! + t));
    commit(true);
    expect(ran).toHaveLength(3);
    vi.advanceTimersByTime(2);
    commit();
    expect(ran).toEqual([0, 5, 5, 7, 7].map((t) => ran[0]! + t));
  });
});

describe('the SQL store on better-sqlite3: which commits are light', () => {
  it('tells the pace after a claim and an attempt record, not after an ingest', async () => {
    const light = vi.fn();
    const pace: CommitPace = { defer: (fn) => void setImmediate(fn), light };
    const store = createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), { ...CONTRACT_OPTIONS, pace });
    await store.ingest(event({ targets: ['a'] }));
    expect(light).not.toHaveBeenCalled();
    const [delivery] = await store.claim([{ target: 'a', limit: 10, leaseMs: 30_000 }], T0);
    expect(light).toHaveBeenCalledTimes(1);
    await store.record(attempt(delivery!, 'delivered', T0));
    expect(light).toHaveBeenCalledTimes(2);
  });
});
