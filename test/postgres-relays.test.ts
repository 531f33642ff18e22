// Relays sharing one Postgres, as processes the way `npm start` runs them: two racing for the
// same deliveries send each one once, an event one relay took shows in the other's live list, and
// a pulled instance is polled by one relay at a time and taken over when that relay is killed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config.ts';
import { startFakeGreenApi } from './helpers/green-api.ts';
import { fixture } from './helpers/fixtures.ts';
import { startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { spawnRelay, type RelayProcess } from './helpers/process.ts';
import { startSink } from './helpers/sink.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './behaviour/helpers.ts';

let postgres: TestPostgres;
const running: RelayProcess[] = [];
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  for (const relay of running) relay.child.kill('SIGKILL');
  await postgres?.stop();
});

async function relays(count: number, config: ConfigInput): Promise<RelayProcess[]> {
  const url = await postgres.database();
  const dataDir = tempDir();
  const started: RelayProcess[] = [];
  for (let n = 0; n < count; n++)
    started.push(await spawnRelay(config, dataDir, { RELAY_DATABASE_URL: url, RELAY_ID: `relay-${n}` }));
  running.push(...started);
  return started;
}

const text = fixture('incomingMessageReceived.textMessage.json').json;
const notification = (instance: number, n: number) =>
  JSON.stringify({
    ...text,
    idMessage: `RACE-${instance}-${n}`,
    instanceData: { idInstance: instance, wid: '1@c.us', typeInstance: 'whatsapp' },
  });

describe('relays sharing one Postgres', () => {
  it('send each delivery once while two of them race for the same due rows', async () => {
    const sink = await startSink();
    const [a, b] = await relays(2, {
      instances: { '*': { token: 'race-token' } },
      targets: [{ name: 'fast', url: sink.url, concurrency: 20 }],
    });
    const count = 400;
    // Both take notifications, so both have deliveries to claim, and each wakes its own
    // dispatcher while the other's finds the same rows due.
    await Promise.all(
      Array.from({ length: 8 }, async (_, instance) => {
        for (let n = 0; n < count / 8; n++) {
          const relay = n % 2 ? a! : b!;
          const response = await fetch(`${relay.url}/webhook`, {
            method: 'POST',
            headers: { authorization: 'Bearer race-token', 'content-type': 'application/json' },
            body: notification(1101000100 + instance, n),
          });
          expect(response.status).toBe(200);
        }
      }),
    );
    await until('every delivery', () => sink.requests.length >= count, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const perDelivery = new Map<string, number>();
    for (const request of sink.requests) {
      const id = String(request.headers['webhook-id']);
      perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
    }
    expect(perDelivery.size).toBe(count);
    expect([...perDelivery.values()].filter((n) => n !== 1)).toEqual([]);
    // Both relays delivered a share (each logs the attempts it made).
    for (const relay of [a!, b!]) expect(relay.output()).toContain('"event":"delivery.attempt"');
    await sink.close();
  }, 60_000);

  it("show an event in every relay's live list, whichever relay took it", async () => {
    const [a, b] = await relays(2, {
      instances: { '*': { token: 'live-token' } },
      targets: [],
      admin: { token: 'live-admin' },
    });
    const closing = new AbortController();
    const stream = await fetch(`${a!.url}/api/stream`, {
      headers: { authorization: 'Bearer live-admin' },
      signal: closing.signal,
    });
    expect(stream.status).toBe(200);
    let seen = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream.body!) seen += decoder.decode(chunk, { stream: true });
    })().catch(() => {});
    // Relay b learns within a few seconds that a has a subscriber; until then it sends nothing.
    const ids: string[] = [];
    await until(
      'an event taken by b in the live list of a',
      async () => {
        const response = await fetch(`${b!.url}/webhook`, {
          method: 'POST',
          headers: { authorization: 'Bearer live-token', 'content-type': 'application/json' },
          body: notification(1101000300, ids.length),
        });
        ids.push(((await response.json()) as { id: string }).id);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return ids.some((id) => seen.includes(`"id":"${id}"`));
      },
      15_000,
    );
    expect(seen).toContain('event: event');
    closing.abort();
    await reading;
  }, 30_000);

  it('poll a pulled instance from one relay at a time, and fail over when it is killed', async () => {
    const instance = '1101000200';
    const api = await startFakeGreenApi(instance, 'pull-api-token');
    const sink = await startSink();
    const pair = await relays(2, {
      instances: { [instance]: { pull: { apiUrl: api.url, apiToken: 'pull-api-token', receiveTimeout: 5 } } },
      targets: [{ name: 'a', url: sink.url }],
    });
    const leaderOf = () => pair.find((relay) => relay.output().includes('"event":"pull.leading"'));
    await until('a relay leading', () => leaderOf() !== undefined, 10_000);
    const leader = leaderOf()!;
    const standby = pair.find((relay) => relay !== leader)!;
    await until('the other standing by', () => standby.output().includes('"event":"pull.standby"'), 10_000);

    for (let n = 0; n < 10; n++) api.enqueue(JSON.parse(notification(Number(instance), n)));
    await until('the first ten delivered', () => sink.requests.length >= 10, 15_000);

    leader.child.kill('SIGKILL');
    await leader.exited;
    for (let n = 10; n < 20; n++) api.enqueue(JSON.parse(notification(Number(instance), n)));
    // The lease is twice receiveTimeout plus 10 s; the standby looks every 5 s.
    await until('the standby taking over', () => standby.output().includes('"event":"pull.leading"'), 40_000);
    await until('the next ten delivered', () => sink.requests.length >= 20, 15_000);
    expect(api.queue).toEqual([]);
    expect(api.mostPolling, 'never two pollers at once').toBe(1);
    const ids = new Set(sink.requests.map((r) => JSON.parse(r.body.toString()).data.message.id));
    expect(ids.size).toBe(20);
    await sink.close();
    await api.close();
  }, 90_000);
});
