// Nothing accepted is ever dropped: the shared restart case (behaviour/restart.ts) on the built
// `npm start` entry, with Node's own check that the second start resumed the leased deliveries;
// and SIGTERM, which finishes the attempts in flight and leaves the rest due for the next start.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ConfigInput } from '../src/config.ts';
import { pauseRestartCase, restartCase, type Start } from './behaviour/restart.ts';
import { fixture } from './helpers/fixtures.ts';
import { spawnRelay } from './helpers/process.ts';
import { startSink } from './helpers/sink.ts';
import { tempDir } from './helpers/tmp.ts';
import { postNotification, TOKEN } from './helpers/webhook.ts';

const text = fixture('incomingMessageReceived.textMessage.json').json;

async function post(url: string, i: number): Promise<string> {
  const response = await postNotification(url, { ...text, idMessage: `KILL${i}` });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

/** The built `npm start` entry as the shared cases start it. */
const start: Start = async (config, state) => {
  const relay = await spawnRelay(config, state);
  return {
    url: relay.url,
    output: relay.output,
    kill: async () => {
      relay.child.kill('SIGKILL');
      await relay.exited;
    },
  };
};

describe('restart', () => {
  it('keeps a paused target paused across a SIGKILL and a restart, and delivers the held backlog on resume', async () => {
    const second = await pauseRestartCase(start, tempDir());
    onTestFinished(() => second.kill());
  });

  it('delivers every accepted event to every target after a SIGKILL', async () => {
    const second = await restartCase(start, tempDir());
    onTestFinished(() => second.kill());
    const released = /"event":"dispatcher\.resumed","released":(\d+)/.exec(second.output());
    expect(Number(released?.[1])).toBeGreaterThanOrEqual(3); // at least the hanging ones
  });

  it('stops on SIGTERM, finishing the attempts in flight, and leaves the rest due for the next start', async () => {
    const slow = await startSink(() => ({ status: 200, delayMs: 200 }));
    onTestFinished(() => slow.close());
    const dataDir = tempDir();
    const config: ConfigInput = {
      instances: { '*': { token: TOKEN } },
      targets: [{ name: 'slow', url: slow.url, concurrency: 1 }],
    };
    const first = await spawnRelay(config, dataDir);
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) accepted.push(await post(first.url, i));
    await expect.poll(() => slow.requests.length).toBeGreaterThan(0);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The attempt in flight when the signal came was allowed to finish and was recorded.
    const afterSignal = first.output().split('"event":"relay.stopping"')[1]!;
    expect(afterSignal).toMatch(/"event":"delivery\.attempt".*"outcome":"delivered"/);
    expect(afterSignal).toContain('"event":"relay.stopped"');
    expect(slow.requests.length).toBeLessThan(10);

    const second = await spawnRelay(config, dataDir);
    onTestFinished(() => void second.child.kill('SIGKILL'));
    const ids = () => new Set(slow.requests.map((r) => String(r.headers['webhook-id'])));
    await expect.poll(() => ids().size, { timeout: 15_000 }).toBe(10);
    expect(ids()).toEqual(new Set(accepted));
  });
});
