// The shared behaviour cases against the Node relay (`npm start`'s entry, as a child process).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { spawnRelay, type RelayProcess } from '../helpers/process.ts';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { BEHAVIOUR, behaviourConfig, behaviourResponder } from './cases.ts';

let sink: Sink;
let relay: RelayProcess;
let proxy: Proxy;
beforeAll(async () => {
  sink = await startSink(behaviourResponder());
  relay = await spawnRelay(behaviourConfig(sink.url.replace('/hook', '')), tempDir());
  proxy = await startProxy(relay.url);
});
afterAll(async () => {
  proxy?.stop();
  relay?.child.kill('SIGKILL');
  await sink?.close();
});

describe('behaviour on node', () => {
  for (const c of BEHAVIOUR)
    it(`${c.name} (node)`, () => c.run({ url: relay.url, proxy: proxy.url, requests: sink.requests }));
});
