// The store contract against the SQL store on better-sqlite3 (Node), each case on a fresh file.
import { describe, it } from 'vitest';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { CONTRACT_OPTIONS, STORE_CONTRACT } from './contract.ts';

describe('the SQL store on better-sqlite3', () => {
  for (const c of STORE_CONTRACT) {
    it(c.name, () => c.run(createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), CONTRACT_OPTIONS)));
  }
});
