// The store contract on Deno: the SQL store over node:sqlite (and when its writes wait for the
// disk) and over Postgres (the `postgres` client runs on Deno too), and the Deno KV store.
/// <reference path="../../src/runtimes/deno/node-sqlite.d.ts" />
import { openNodeSqlite } from '../../src/runtimes/deno/sqlite-driver.ts';
import { createKvStore } from '../../src/store/kv-store.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { CONTRACT_OPTIONS, STORE_CONTRACT } from '../store/contract.ts';
import { DISK_SYNC_CASES } from '../store/disk-sync.ts';

Deno.test('the SQL store on node:sqlite', async (t) => {
  for (const c of STORE_CONTRACT) {
    await t.step(c.name, () =>
      c.run(createSqlStore(openNodeSqlite(`${Deno.makeTempDirSync()}/relay.db`), CONTRACT_OPTIONS)),
    );
  }
});

Deno.test('the SQL store on node:sqlite: when a write waits for the disk', async (t) => {
  for (const c of DISK_SYNC_CASES) await t.step(c.name, () => c.run(openNodeSqlite, Deno.makeTempDirSync()));
});

Deno.test({ name: 'the SQL store on Postgres', sanitizeOps: false, sanitizeResources: false }, async (t) => {
  const server = await startPostgres();
  try {
    for (const c of STORE_CONTRACT) {
      await t.step(c.name, async () => {
        const store = await openPostgresStore({ url: await server.database(), holder: 'deno', ...CONTRACT_OPTIONS });
        try {
          await c.run(store);
        } finally {
          await store.close();
        }
      });
    }
  } finally {
    await server.stop();
  }
});

Deno.test('the Deno KV store', async (t) => {
  for (const c of STORE_CONTRACT) {
    await t.step(c.name, async () => {
      const kv = await Deno.openKv(`${Deno.makeTempDirSync()}/relay.kv`);
      try {
        await c.run(createKvStore(kv, CONTRACT_OPTIONS));
      } finally {
        kv.close();
      }
    });
  }
});
