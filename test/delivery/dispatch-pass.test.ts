// The dispatch pass of the schedulers where nothing runs between requests (a Durable Object's
// alarm, a Deno KV queue message), over a real SQLite file, sending to a real sink.
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { validateConfig } from '../../src/config.ts';
import { dispatchPass } from '../../src/delivery/dispatch-pass.ts';
import { createJsonLogger } from '../../src/log.ts';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { undiciPost } from '../../src/runtimes/node/undici-post.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { startSink } from '../helpers/sink.ts';
import { tempDir } from '../helpers/tmp.ts';
import { event } from '../store/contract.ts';

it('ends when its attempts all end while it looks at the store, instead of waiting for nothing', async () => {
  const sink = await startSink();
  onTestFinished(() => sink.close());
  const config = validateConfig({ instances: { '*': { token: 't' } }, targets: [{ name: 'a', url: sink.url }] }, {});
  const store = createSqlStore(openBetterSqlite(join(tempDir(), 'relay.db')), {
    dedupWindowMs: 60_000,
    retentionMs: 60_000,
  });
  await store.ingest(event({ id: 'e1', targets: ['a'], receivedAt: Date.now() }));
  // A store as slow to say what is due next as Deno KV under load: the attempt ends meanwhile.
  const slow = {
    ...store,
    nextDueAt: async (targets: string[]) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return store.nextDueAt(targets);
    },
  };
  const pass = dispatchPass({
    store: slow,
    targets: config.targets,
    logger: createJsonLogger(() => {}),
    now: Date.now,
    userAgent: 'test',
    alertGroupEveryMs: 60_000,
    post: undiciPost,
    maxInFlight: 10,
    budgetMs: 30_000,
  });
  const hung = new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5_000));
  expect(await Promise.race([pass, hung])).toBeNull();
  expect((await store.getEvent('e1'))?.deliveries[0]?.status).toBe('delivered');
  expect(sink.requests).toHaveLength(1);
});
