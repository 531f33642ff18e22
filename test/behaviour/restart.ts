// The restart case, written once (no test framework) and run on every runtime: a relay killed with
// SIGKILL while deliveries are in flight (a target that hangs) and pending (a target that fails),
// then started again on the same state, delivers every accepted event to every target.
import assert from 'node:assert/strict';
import type { ConfigInput } from '../../src/config.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startSink } from '../helpers/sink.ts';
import { postNotification, TOKEN } from '../helpers/webhook.ts';

export interface Started {
  url: string;
  output(): string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
}

/** How a runtime's harness starts its relay on `state` (a data folder, or wrangler's --persist-to). */
export type Start = (config: ConfigInput, state: string) => Promise<Started>;

const EVENTS = 20;
/** In flight to the hanging target at the kill: within a Durable Object alarm's share of its 6 slots. */
const HANGING = 3;

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs the case; resolves with the second run, still up, for checks of a runtime's own (and to kill). */
export async function restartCase(start: Start, state: string): Promise<Started> {
  let healthy = false;
  const hanging = await startSink(() => (healthy ? { status: 200 } : { hang: true }));
  const failing = await startSink(() => ({ status: healthy ? 200 : 503 }));
  const ids = (sink: typeof hanging) => new Set(sink.requests.map((r) => String(r.headers['webhook-id'])));
  const config: ConfigInput = {
    instances: { '*': { token: TOKEN } },
    targets: [
      // What is tested is the restart: circuits, which would hold these targets, are off.
      { name: 'hanging', url: hanging.url, timeoutMs: 60_000, concurrency: HANGING, circuit: false },
      { name: 'failing', url: failing.url, retry: Array(30).fill('100ms'), circuit: false },
    ],
  };
  try {
    const first = await start(config, state);
    const accepted: string[] = [];
    try {
      for (let i = 0; i < EVENTS; i++) {
        const response = await postNotification(first.url, {
          ...fixture('incomingMessageReceived.textMessage.json').json,
          idMessage: `RESTART${i}`,
        });
        assert.equal(response.status, 200);
        accepted.push(((await response.json()) as { id: string }).id);
      }
      await until('the hanging target to hold its slots', () => hanging.requests.length >= HANGING);
      await until('every event to have failed once', () => ids(failing).size === EVENTS);
    } finally {
      await first.kill();
    }
    healthy = true;
    const second = await start(config, state);
    try {
      await until('every event at the hanging target', () => ids(hanging).size === EVENTS);
      await until('every event at the failing target', () => ids(failing).size === EVENTS);
    } catch (err) {
      await second.kill();
      throw err;
    }
    assert.deepEqual([...ids(hanging)].sort(), [...accepted].sort());
    assert.deepEqual([...ids(failing)].sort(), [...accepted].sort());
    return second;
  } finally {
    await hanging.close();
    await failing.close();
  }
}

/**
 * A paused target stays paused across a SIGKILL and a restart, holding its deliveries; resumed, it
 * receives the held backlog. Resolves with the second run, still up.
 */
export async function pauseRestartCase(start: Start, state: string): Promise<Started> {
  const sink = await startSink(() => ({ status: 200 }));
  const admin = 'pause-admin-token';
  const config: ConfigInput = {
    instances: { '*': { token: TOKEN } },
    admin: { token: admin },
    targets: [{ name: 'crm', url: sink.url }],
  };
  const control = (url: string, action: string) =>
    fetch(`${url}/api/targets/crm/${action}`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const first = await start(config, state);
    const accepted: string[] = [];
    try {
      assert.equal((await control(first.url, 'pause')).status, 200);
      await sleep(800);
      for (let i = 0; i < 5; i++) {
        const response = await postNotification(first.url, {
          ...fixture('incomingMessageReceived.textMessage.json').json,
          idMessage: `PAUSED${i}`,
        });
        accepted.push(((await response.json()) as { id: string }).id);
      }
      await sleep(700);
      assert.equal(sink.requests.length, 0, 'nothing is sent to a paused target');
    } finally {
      await first.kill();
    }
    const second = await start(config, state);
    try {
      await sleep(1_500);
      assert.equal(sink.requests.length, 0, 'still paused after the restart');
      const targets = (await (
        await fetch(`${second.url}/api/targets`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as { items: { name: string; state: string; held: number }[] };
      assert.deepEqual(
        targets.items.map((t) => [t.name, t.state, t.held]),
        [['crm', 'paused', 5]],
      );
      assert.equal((await control(second.url, 'resume')).status, 200);
      await until(
        'the held backlog after resume',
        () => new Set(sink.requests.map((r) => String(r.headers['webhook-id']))).size === 5,
      );
    } catch (err) {
      await second.kill();
      throw err;
    }
    assert.deepEqual(
      [...new Set(sink.requests.map((r) => String(r.headers['webhook-id'])))].sort(),
      [...accepted].sort(),
    );
    return second;
  } finally {
    await sink.close();
  }
}
