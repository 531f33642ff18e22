// Nothing accepted is ever dropped: the relay killed with SIGKILL while deliveries are pending
// and in flight, then started again on the same data folder, delivers every event to every target.
// SIGTERM stops it cleanly.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config.ts';
import { fixture } from './helpers/fixtures.ts';
import { spawnRelay, type RelayProcess } from './helpers/process.ts';
import { tempDir, TOKEN } from './helpers/relay.ts';
import { startSink, type Sink } from './helpers/sink.ts';

const text = fixture('incomingMessageReceived.textMessage.json').json;
const open: (Sink | RelayProcess)[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    if ('child' in o) o.child.kill('SIGKILL');
    else await o.close();
  }
});

async function post(relay: RelayProcess, i: number): Promise<string> {
  const response = await fetch(`${relay.url}/webhook`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...text, idMessage: `KILL${i}` }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

const ids = (sink: Sink) => new Set(sink.requests.map((r) => String(r.headers['webhook-id'])));

describe('restart', () => {
  it('delivers every accepted event to every target after a SIGKILL', async () => {
    let healthy = false;
    // One target hangs (deliveries in flight at the kill), the other fails (deliveries pending retry).
    const hanging = await startSink(() => (healthy ? { status: 200 } : { hang: true }));
    const failing = await startSink(() => ({ status: healthy ? 200 : 503 }));
    open.push(hanging, failing);
    const config: ConfigInput = {
      instances: { '*': { token: TOKEN } },
      targets: [
        { name: 'hanging', url: hanging.url, timeoutMs: 60_000, concurrency: 5 },
        { name: 'failing', url: failing.url, retry: Array(30).fill('100ms') },
      ],
    };
    const dataDir = tempDir();
    const first = await spawnRelay(config, dataDir);
    open.push(first);

    const accepted: string[] = [];
    for (let i = 0; i < 40; i++) accepted.push(await post(first, i));
    await expect.poll(() => hanging.requests.length).toBe(5);
    await expect.poll(() => failing.requests.length).toBeGreaterThan(40);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    healthy = true;
    const second = await spawnRelay(config, dataDir);
    open.push(second);
    await expect.poll(() => ids(hanging).size, { timeout: 15_000 }).toBe(40);
    await expect.poll(() => ids(failing).size, { timeout: 15_000 }).toBe(40);
    expect(ids(hanging)).toEqual(new Set(accepted));
    expect(ids(failing)).toEqual(new Set(accepted));
    const released = /"event":"dispatcher\.resumed","released":(\d+)/.exec(second.output());
    expect(Number(released?.[1])).toBeGreaterThanOrEqual(5); // at least the five hanging ones
  });

  it('stops on SIGTERM, finishing the attempts in flight, and leaves the rest due for the next start', async () => {
    const slow = await startSink(() => ({ status: 200, delayMs: 200 }));
    open.push(slow);
    const dataDir = tempDir();
    const config: ConfigInput = { instances: { '*': { token: TOKEN } }, targets: [{ name: 'slow', url: slow.url, concurrency: 1 }] };
    const first = await spawnRelay(config, dataDir);
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) accepted.push(await post(first, i));
    await expect.poll(() => slow.requests.length).toBeGreaterThan(0);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The attempt in flight when the signal came was allowed to finish and was recorded.
    const afterSignal = first.output().split('"event":"relay.stopping"')[1]!;
    expect(afterSignal).toMatch(/"event":"delivery\.attempt".*"outcome":"delivered"/);
    expect(afterSignal).toContain('"event":"relay.stopped"');
    expect(slow.requests.length).toBeLessThan(10);

    const second = await spawnRelay(config, dataDir);
    open.push(second);
    await expect.poll(() => ids(slow).size, { timeout: 15_000 }).toBe(10);
    expect(ids(slow)).toEqual(new Set(accepted));
  });
});
