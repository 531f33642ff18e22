// Relays sharing one Postgres, as processes the way `npm start` runs them: two racing for the
// same deliveries send each one once, an event one relay took shows in the other's live list, and
// a pulled instance is polled by one relay at a time and taken over when that relay is killed.
// And one relay whose connections are cut in the middle of a commit answers 503 and stays up.
import postgresClient from 'postgres';
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

describe('a relay on Postgres', () => {
  it('answers 503 when its connections are cut during a commit, stays up, and takes the resend', async () => {
    const sink = await startSink();
    const url = await postgres.database();
    const config = { instances: { '*': { token: 'cut-token' } }, targets: [{ name: 'a', url: sink.url }] };
    const relay = await spawnRelay(config, tempDir(), { RELAY_DATABASE_URL: url, RELAY_ID: 'relay-cut' });
    running.push(relay);
    const post = (n: number) =>
      fetch(`${relay.url}/webhook`, {
        method: 'POST',
        headers: { authorization: 'Bearer cut-token', 'content-type': 'application/json' },
        body: notification(1101000400, n),
      });
    const admin = postgresClient(url, { max: 1, onnotice: () => {} });
    // A lock holds the commit inside its transaction, so that it is in flight when its backend goes
    // (a database restarting, a failover, a proxy dropping connections). SHARE mode stops writes to
    // events only: the relay's reads (its prune looks at events) go on.
    const cutDuring = async (n: number) => {
      let answering: Promise<Response> | undefined;
      await admin.begin(async (tx) => {
        await tx`LOCK TABLE events IN SHARE MODE`;
        answering = post(n);
        await until('the commit waiting for the lock', async () => {
          // The insert waits at its parse (which takes the table's lock), before the view shows its text;
          // the view is read once per transaction unless its snapshot is dropped.
          await tx`SELECT pg_stat_clear_snapshot()`;
          const [row] = await tx<{ n: number }[]>`SELECT COUNT(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`;
          return row!.n > 0;
        });
        await tx`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`;
      });
      return answering!;
    };
    try {
      // Three times: whether the client's ROLLBACK of the cut transaction finds its socket gone
      // depends on how the close arrives.
      for (const n of [0, 1, 2]) {
        expect((await cutDuring(n)).status).toBe(503);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(relay.child.exitCode, relay.output()).toBeNull();
      }
      // Green API sends the same notifications again: they are taken, and delivered.
      for (const n of [0, 1, 2]) expect((await post(n)).status).toBe(200);
      await until('all three delivered', () => sink.requests.length >= 3, 15_000);
    } finally {
      await admin.end({ timeout: 1 });
      await sink.close();
    }
  }, 60_000);
});
