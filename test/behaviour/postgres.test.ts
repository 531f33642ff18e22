// The shared behaviour cases against two Node relays sharing one Postgres, behind a round-robin
// balancer (request by request, headers untouched, as a Kubernetes Service or an L7 balancer),
// and a proxy in front of that for the cases that go through one.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { spawnRelay, type RelayProcess } from '../helpers/process.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { BEHAVIOUR, behaviourConfig, behaviourResponder } from './cases.ts';

let postgres: TestPostgres;
let sink: Sink;
let relays: RelayProcess[] = [];
let balancer: Proxy;
let proxy: Proxy;
beforeAll(async () => {
  postgres = await startPostgres();
  const url = await postgres.database();
  sink = await startSink(behaviourResponder());
  // One data folder for both, as on one machine: they share its generated keys.
  const dataDir = tempDir();
  const config = behaviourConfig(sink.url.replace('/hook', ''));
  for (const name of ['relay-1', 'relay-2'])
    relays.push(await spawnRelay(config, dataDir, { RELAY_DATABASE_URL: url, RELAY_ID: name }));
  balancer = await startProxy(
    relays.map((relay) => relay.url),
    { balancer: true },
  );
  proxy = await startProxy(balancer.url);
}, 60_000);
afterAll(async () => {
  proxy?.stop();
  balancer?.stop();
  for (const relay of relays) relay.child.kill('SIGKILL');
  await sink?.close();
  await postgres?.stop();
});

describe('behaviour on two node relays sharing postgres', () => {
  for (const c of BEHAVIOUR)
    it(`${c.name} (node, postgres ×2)`, () => c.run({ url: balancer.url, proxy: proxy.url, requests: sink.requests }));
});
