// The shared behaviour cases against the relay on Deno (Deno.serve), with the node:sqlite store,
// the Deno KV store and Postgres, over real HTTP with real sinks; then the shared restart case.
import { BEHAVIOUR, behaviourConfig, behaviourResponder } from '../behaviour/cases.ts';
import { pauseRestartCase, restartCase, type Start } from '../behaviour/restart.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startSink } from '../helpers/sink.ts';
import { spawnDenoRelay, spawnProxy } from './relay.ts';

const options = { sanitizeOps: false, sanitizeResources: false };

for (const store of ['sqlite', 'kv', 'postgres'] as const) {
  Deno.test({ name: `behaviour on deno (${store} store)`, ...options }, async (t) => {
    const sink = await startSink(behaviourResponder());
    const dir = Deno.makeTempDirSync();
    const postgres: TestPostgres | undefined = store === 'postgres' ? await startPostgres() : undefined;
    const env: Record<string, string> =
      store === 'kv'
        ? { RELAY_STORE: 'kv', RELAY_KV_PATH: `${dir}/relay.kv` }
        : postgres
          ? { RELAY_DATABASE_URL: await postgres.database() }
          : {};
    const relay = await spawnDenoRelay(behaviourConfig(sink.url.replace('/hook', '')), dir, env);
    const proxy = await spawnProxy(relay.url);
    try {
      if (!relay.output().includes(`"store":"${store}"`))
        throw new Error(`the relay did not start on the ${store} store`);
      for (const c of BEHAVIOUR)
        await t.step(`${c.name} (deno, ${store})`, () =>
          c.run({ url: relay.url, proxy: proxy.url, requests: sink.requests }),
        );
    } finally {
      proxy.stop();
      await relay.kill();
      await sink.close();
      await postgres?.stop();
    }
  });
}

Deno.test(
  { name: 'restart: delivers every accepted event to every target after a SIGKILL (deno, sqlite)', ...options },
  async () => {
    const second = await restartCase(async (config, state) => {
      const relay = await spawnDenoRelay(config, state);
      return { url: relay.url, output: relay.output, kill: async () => void (await relay.kill('SIGKILL')) };
    }, Deno.makeTempDirSync());
    await second.kill();
  },
);
