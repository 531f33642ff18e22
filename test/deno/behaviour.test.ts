// The shared behaviour cases against the relay on Deno (Deno.serve), with the node:sqlite store and
// with the Deno KV store, over real HTTP with real sinks; then a SIGKILL with deliveries pending,
// and a restart that loses nothing.
import { BEHAVIOUR, behaviourConfig, behaviourResponder, TOKEN } from '../behaviour/cases.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startSink } from '../helpers/sink.ts';
import { spawnDenoRelay, spawnProxy } from './relay.ts';

const options = { sanitizeOps: false, sanitizeResources: false };

for (const store of ['sqlite', 'kv'] as const) {
  Deno.test({ name: `behaviour on deno (${store} store)`, ...options }, async (t) => {
    const sink = await startSink(behaviourResponder());
    const dir = Deno.makeTempDirSync();
    const env: Record<string, string> = store === 'kv' ? { RELAY_STORE: 'kv', RELAY_KV_PATH: `${dir}/relay.kv` } : {};
    const relay = await spawnDenoRelay(behaviourConfig(sink.url.replace('/hook', '')), dir, env);
    const proxy = await spawnProxy(relay.url);
    try {
      if (!relay.output().includes(`"store":"${store}"`)) throw new Error(`the relay did not start on the ${store} store`);
      for (const c of BEHAVIOUR) await t.step(`${c.name} (deno, ${store})`, () => c.run({ url: relay.url, proxy: proxy.url, requests: sink.requests }));
    } finally {
      proxy.stop();
      await relay.kill();
      await sink.close();
    }
  });
}

Deno.test({ name: 'deno: every accepted event reaches its target after a SIGKILL and a restart (node:sqlite file)', ...options }, async () => {
  // The target refuses until the relay has been killed, so every delivery is still pending then.
  let up = false;
  const accepted = new Set<string>();
  const sink = await startSink((request) => {
    if (!up) return { status: 503 };
    accepted.add(String(request.headers['webhook-id']));
    return { status: 200 };
  });
  const dataDir = Deno.makeTempDirSync();
  const config = { instances: { '*': { token: TOKEN } }, targets: [{ name: 'crm', url: sink.url, retry: Array(30).fill('100ms') }] };
  const first = await spawnDenoRelay(config, dataDir);
  const ids: string[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${first.url}/webhook`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ ...fixture('incomingMessageReceived.textMessage.json').json, idMessage: `DENO${i}` }),
      });
      ids.push(((await response.json()) as { id: string }).id);
    }
    while (sink.requests.length < 10) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await first.kill('SIGKILL');
  }
  up = true;
  const second = await spawnDenoRelay(config, dataDir);
  try {
    const deadline = Date.now() + 20_000;
    while (accepted.size < ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const missing = ids.filter((id) => !accepted.has(id));
    if (missing.length > 0) throw new Error(`not delivered after the restart: ${missing.join(', ')}`);
  } finally {
    await second.kill();
    await sink.close();
  }
});
