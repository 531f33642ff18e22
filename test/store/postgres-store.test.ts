// The store contract against the SQL store on a real Postgres, each case in a fresh database.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { CONTRACT_OPTIONS, STORE_CONTRACT } from './contract.ts';

let server: TestPostgres;
const stores: PostgresStore[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await server?.stop();
});

describe('the SQL store on Postgres', () => {
  for (const c of STORE_CONTRACT) {
    it(c.name, async () => {
      const store = await openPostgresStore({ url: await server.database(), holder: 'test', ...CONTRACT_OPTIONS });
      stores.push(store);
      await c.run(store);
    });
  }
});
