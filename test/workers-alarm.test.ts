// The Durable Objects' alarm chain (src/runtimes/workers/alarm-chain.ts). On workerd, as
// `wrangler dev` runs it: a small Worker of its own (test/workers/alarm-worker/) whose alarms ask for
// their next run at once, the case workerd can drop, and whose alarms, once lost, the chain sets
// again. workerd drops such alarms in some of its starts and not in others, so the rules are also
// checked against a storage that shows a lost alarm whenever asked to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmChain } from '../src/runtimes/workers/alarm-chain.ts';
import { tempDir } from './helpers/tmp.ts';
import { startWorkersRelay, type WorkersRelay } from './helpers/wrangler.ts';

const OBJECTS = 4;
const RUNS = 200;

let worker: WorkersRelay;

const call = async (path: string) => (await fetch(`${worker.url}${path}`)).text();
const read = async (name: string) =>
  JSON.parse(await call(`/read?name=${name}`)) as { runs: number; alarm: number | null; now: number };
const names = (prefix: string) => Array.from({ length: OBJECTS }, (_, i) => `${prefix}${i}`);

describe('the alarm chain on workerd', () => {
  beforeAll(async () => {
    worker = await startWorkersRelay(
      { instances: {} },
      tempDir(),
      {},
      { config: 'test/workers/alarm-worker/wrangler.toml' },
    );
  }, 90_000);
  afterAll(() => worker?.kill());

  it(`runs alarms that ask for their next run at once, ${RUNS} times in a row, ${OBJECTS} objects side by side`, async () => {
    await Promise.all(names('chain').map((name) => call(`/start?name=${name}&mode=chain&limit=${RUNS}`)));
    for (const name of names('chain')) {
      await expect.poll(async () => (await read(name)).runs, { timeout: 30_000, interval: 100 }).toBe(RUNS);
      expect((await read(name)).alarm).toBeNull();
    }
  }, 90_000);

  it('sets again an alarm workerd shows but never fires, at the next request that asks for one', async () => {
    // Unguarded, the handler's setAlarm(Date.now()) is dropped sooner or later, its time still shown.
    await Promise.all(names('raw').map((name) => call(`/start?name=${name}&mode=raw&limit=${RUNS}`)));
    // Each is done, or stalled: its alarm shown more than 1 s overdue. Read seldom: requests to an
    // object change its timing.
    const stalled: { name: string; runs: number }[] = [];
    for (const name of names('raw')) {
      let last = await read(name);
      await expect
        .poll(
          async () => {
            last = await read(name);
            if (last.runs === RUNS) return 'done';
            return last.alarm !== null && last.alarm < last.now - 1_000 ? 'stalled' : 'running';
          },
          { timeout: 30_000, interval: 1_000 },
        )
        .not.toBe('running');
      if (last.runs < RUNS) stalled.push({ name, runs: last.runs });
    }
    console.log(
      `alarm chain: ${stalled.length} of ${OBJECTS} unguarded alarms stalled (after ${stalled.map((s) => s.runs).join(', ')} runs)`,
    );
    // Lost for longer than the chain's 5 s: the next request's arm() sets it again.
    if (stalled.length > 0) await new Promise((resolve) => setTimeout(resolve, 5_500));
    for (const { name, runs } of stalled) {
      expect((await read(name)).runs).toBe(runs);
      await call(`/poke?name=${name}`);
      await expect.poll(async () => (await read(name)).runs, { timeout: 10_000, interval: 100 }).toBe(runs + 1);
    }
  }, 120_000);
});

/** The two calls of DurableObjectStorage the chain makes, on a clock the test sets. */
function standIn(alarm: number | null = null) {
  const clock = { now: 1_000_000 };
  const storage = {
    alarm,
    getAlarm: async () => storage.alarm,
    setAlarm: async (at: number) => void (storage.alarm = at),
  };
  const chain = createAlarmChain(storage, () => clock.now);
  return { clock, storage, chain };
}

describe('the alarm chain’s rules', () => {
  it('keeps the earliest time asked for', async () => {
    const { clock, storage, chain } = standIn();
    await chain.arm(clock.now + 500);
    await chain.arm(clock.now + 900);
    expect(storage.alarm).toBe(clock.now + 500);
    await chain.arm(clock.now + 100);
    expect(storage.alarm).toBe(clock.now + 100);
  });

  it('ends a run armed for its own next time or for what was asked meanwhile, never for a time not after now', async () => {
    const { clock, storage, chain } = standIn(1_000_000);
    await chain.run(async () => {
      await chain.arm(clock.now + 300);
      await chain.arm(clock.now);
      clock.now += 20;
      return clock.now + 50;
    });
    expect(storage.alarm).toBe(clock.now + 1);
    await chain.run(async () => clock.now + 50);
    expect(storage.alarm).toBe(clock.now + 50);
  });

  it('sets again, for now, an alarm shown more than 5 s overdue', async () => {
    const { clock, storage, chain } = standIn(1_000_000 - 4_000);
    await chain.arm(clock.now + 1_000);
    expect(storage.alarm, 'due a little while ago: it fires on its own').toBe(1_000_000 - 4_000);
    clock.now += 2_000;
    await chain.arm(clock.now + 1_000);
    expect(storage.alarm).toBe(clock.now + 1);
  });
});
