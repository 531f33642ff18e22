// Inside workerd (@cloudflare/vitest-plugin): the store contract against the SQL store over a
// real Durable Object's ctx.storage.sql, each case in an object of its own.
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, it } from 'vitest';
import { durableObjectSqlDriver } from '../../src/runtimes/workers/sqlite-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { CONTRACT_OPTIONS, STORE_CONTRACT } from '../store/contract.ts';

describe('the SQL store on a Durable Object (workerd)', () => {
  STORE_CONTRACT.forEach((c, i) => {
    it(c.name, async () => {
      const namespace = (env as { INSTANCES: DurableObjectNamespace }).INSTANCES;
      const stub = namespace.get(namespace.idFromName(`contract-${i}-${Date.now()}`));
      await runInDurableObject(stub, (_instance: unknown, state: DurableObjectState) =>
        c.run(createSqlStore(durableObjectSqlDriver(state.storage), CONTRACT_OPTIONS)),
      );
    });
  });
});
