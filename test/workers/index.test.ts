// Inside workerd (@cloudflare/vitest-plugin): operator requests ask a fixed number of Durable
// Objects, however many instances there are. Notifications of 10 and then 500 instances go in
// through the Worker itself; then each operator request is made through an app whose store counts
// every call it makes to an object, and the counts at both sizes are compared.
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createRelay } from '../../src/app.ts';
import { createDurableObjectStore } from '../../src/runtimes/workers/app-store.ts';
import { configOf, type Env } from '../../src/runtimes/workers/config.ts';
import { INDEX } from '../../src/runtimes/workers/event-index.ts';
import { createJsonLogger } from '../../src/log.ts';

const ADMIN = 'workers-test-admin';
const bindings = env as unknown as Env;

/** A namespace whose stubs count each call, as `object.method`. */
function counting<T extends Rpc.DurableObjectBranded>(
  namespace: DurableObjectNamespace<T>,
  calls: string[],
): DurableObjectNamespace<T> {
  return {
    getByName(name: string) {
      const stub = namespace.getByName(name);
      return new Proxy(stub, {
        get(target, method) {
          const value = Reflect.get(target, method);
          if (typeof value !== 'function' || typeof method !== 'string') return value;
          return (...args: unknown[]) => {
            calls.push(`${/^\d+$/.test(name) ? 'instance' : name}.${method}`);
            return Reflect.apply(value, target, args);
          };
        },
      });
    },
  } as unknown as DurableObjectNamespace<T>;
}

async function notify(instance: number, id: string): Promise<void> {
  const response = await SELF.fetch('http://relay/webhook', {
    method: 'POST',
    headers: { authorization: 'Bearer workers-test-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      typeWebhook: 'incomingMessageReceived',
      instanceData: { idInstance: instance, wid: '1@c.us', typeInstance: 'whatsapp' },
      timestamp: Math.floor(Date.now() / 1000),
      idMessage: id,
      senderData: { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
      messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: `hello ${id}` } },
    }),
  });
  expect(response.status).toBe(200);
}

/** Every operator request, and the calls to objects that each made. */
async function operatorCalls(sample: { instance: number; eventId: string }): Promise<Record<string, string[]>> {
  const calls: string[] = [];
  const config = configOf(bindings);
  const { app } = createRelay({
    config: { ...config, admin: { token: ADMIN } },
    store: createDurableObjectStore(counting(bindings.INSTANCES, calls), counting(bindings.INDEX, calls)),
    logger: createJsonLogger(() => {}),
  });
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const requests: [string, string][] = [
    ['GET', '/api/events'],
    ['GET', '/api/events?limit=5'],
    ['GET', '/api/events?status=dead'],
    ['GET', '/api/events?status=delivered&target=crm'],
    ['GET', '/api/events?status=pending&target=crm'],
    ['GET', '/api/events?type=com.green-api.message.*'],
    ['GET', '/api/events?chat=79001234567@c.us'],
    [`GET`, `/api/events?since=${since}&until=${new Date(Date.now() + 60_000).toISOString()}`],
    ['GET', `/api/events?instance=${sample.instance}`],
    ['GET', `/api/events/${sample.eventId}`],
    ['POST', `/api/events/${sample.eventId}/replay?target=crm`],
    ['POST', '/api/targets/crm/replay-dead'],
    ['GET', '/api/targets'],
    ['GET', '/api/events?status=quarantined'],
    ['GET', '/metrics'],
    // The inspector's pages.
    ['GET', '/'],
    ['GET', `/events/${sample.eventId}`],
    ['GET', '/dead'],
    ['GET', '/targets'],
  ];
  const counted: Record<string, string[]> = {};
  for (const [method, path] of requests) {
    calls.length = 0;
    const response = await app.fetch(
      new Request(`http://relay${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } }),
    );
    const text = await response.text();
    expect(response.status, `${method} ${path}: ${text}`).toBe(200);
    const name = path
      .replace(sample.eventId, ':id')
      .replace(String(sample.instance), ':instance')
      .replace(/since=.*/, 'since&until');
    counted[`${method} ${name}`] = [...calls];
  }
  // The second page of a listing costs what the first did.
  calls.length = 0;
  const first = (await (
    await app.fetch(new Request('http://relay/api/events?limit=3', { headers: { authorization: `Bearer ${ADMIN}` } }))
  ).json()) as { next: string };
  calls.length = 0;
  await app.fetch(
    new Request(`http://relay/api/events?limit=3&cursor=${first.next}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }),
  );
  counted['GET /api/events?cursor'] = [...calls];
  return counted;
}

/** Lists through the Worker until the index has every event sent. */
async function indexed(expected: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const response = await SELF.fetch('http://relay/api/events?limit=500', {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        let count = 0;
        let page = (await response.json()) as { items: unknown[]; next: string | null };
        count += page.items.length;
        while (page.next) {
          page = (await (
            await SELF.fetch(`http://relay/api/events?limit=500&cursor=${page.next}`, {
              headers: { authorization: `Bearer ${ADMIN}` },
            })
          ).json()) as typeof page;
          count += page.items.length;
        }
        return count;
      },
      { timeout: 60_000, interval: 200 },
    )
    .toBeGreaterThanOrEqual(expected);
}

describe('operator requests at 10 and at 500 instances (workerd)', () => {
  it('ask the same few objects at both sizes', async () => {
    const counts: Record<string, string[]>[] = [];
    let sent = 0;
    for (const size of [10, 500]) {
      const instances = Array.from({ length: size }, (_, i) => 1102000000 + size * 1000 + i);
      for (let i = 0; i < instances.length; i += 25)
        await Promise.all(instances.slice(i, i + 25).map((instance) => notify(instance, `SCALE${instance}`)));
      sent += size;
      await indexed(sent);
      const list = (await (
        await SELF.fetch(`http://relay/api/events?instance=${instances[0]}`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).json()) as { items: { id: string }[] };
      counts.push(await operatorCalls({ instance: instances[0]!, eventId: list.items[0]!.id }));
    }
    const [small, large] = counts as [Record<string, string[]>, Record<string, string[]>];
    console.log(
      Object.entries(large)
        .map(([request, calls]) => `${request}: ${calls.length} (${calls.join(', ')})`)
        .join('\n'),
    );
    expect(large).toEqual(small);
    for (const [request, calls] of Object.entries(large))
      expect(calls.length, `${request}: ${calls.join(', ')}`).toBeLessThanOrEqual(3);

    // The bulk replay, queued by the index, reaches every instance's object: each dead delivery
    // is tried again (and dies again: nothing listens), as the index then hears.
    const index = bindings.INDEX.getByName(INDEX);
    const left = () =>
      runInDurableObject(index, (_object, state) => {
        const sql = state.storage.sql;
        return {
          queued: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM replay_queue').one().n,
          replayed: sql
            .exec<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE series > 0 AND status = 'dead'")
            .one().n,
        };
      });
    await expect.poll(left, { timeout: 60_000, interval: 200 }).toEqual({ queued: 0, replayed: sent });
  }, 180_000);

  it('lists at once an event no target takes (its object feeds the index from the ingest, with no pass)', async () => {
    const response = await SELF.fetch('http://relay/webhook', {
      method: 'POST',
      headers: { authorization: 'Bearer workers-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        typeWebhook: 'stateInstanceChanged',
        instanceData: { idInstance: 1102999999, wid: '1@c.us', typeInstance: 'whatsapp' },
        timestamp: Math.floor(Date.now() / 1000),
        stateInstance: 'authorized',
      }),
    });
    const { id } = (await response.json()) as { id: string };
    await expect
      .poll(
        async () => {
          const listed = await SELF.fetch('http://relay/api/events?type=com.green-api.instance.state', {
            headers: { authorization: `Bearer ${ADMIN}` },
          });
          return ((await listed.json()) as { items: { id: string; deliveries: unknown[] }[] }).items;
        },
        { timeout: 5_000, interval: 50 },
      )
      .toEqual([expect.objectContaining({ id, deliveries: [] })]);
  });
});
