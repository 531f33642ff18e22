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
      { name: 'hanging', url: hanging.url, timeoutMs: 60_000, concurrency: HANGING },
      { name: 'failing', url: failing.url, retry: Array(30).fill('100ms') },
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
