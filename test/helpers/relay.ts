// Starts the Node relay in this process over real HTTP on loopback with a real SQLite file in a
// fresh temporary folder, and captures its log lines.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { validateConfig, type ConfigInput } from '../../src/config.ts';
import { createJsonLogger } from '../../src/log.ts';
import { DB_FILE } from '../../src/runtimes/data-dir.ts';
import { startNodeRelay, type NodeRelay } from '../../src/runtimes/node/relay.ts';

import { tempDir } from './tmp.ts';
import { postNotification, TOKEN } from './webhook.ts';

export { tempDir } from './tmp.ts';
export { TOKEN } from './webhook.ts';

export interface TestRelay extends NodeRelay {
  dataDir: string;
  logs: string[];
  /** POSTs a notification to /webhook as Green API does (Bearer token, JSON). */
  post(
    body: string | Uint8Array | object,
    options?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Runs a read-only query on the relay's SQLite file through a second connection. */
  query<Row>(sql: string, ...params: unknown[]): Row[];
}

export async function startRelay(config: Partial<ConfigInput> = {}, dataDir = tempDir()): Promise<TestRelay> {
  const logs: string[] = [];
  const relay = await startNodeRelay({
    config: validateConfig({ instances: { '*': { token: TOKEN } }, ...config }, {}),
    dataDir,
    port: 0,
    hostname: '127.0.0.1',
    logger: createJsonLogger((line) => logs.push(line)),
  });
  let reader: Database.Database | undefined;
  return {
    ...relay,
    dataDir,
    logs,
    post: (body, options = {}) =>
      postNotification(relay.url, body, options.token === undefined ? TOKEN : options.token, options.headers),
    query(sql, ...params) {
      reader ??= new Database(join(dataDir, DB_FILE), { readonly: true });
      return reader.prepare(sql).all(...params) as never;
    },
    async close(graceMs = 200) {
      reader?.close();
      await relay.close(graceMs);
    },
  };
}
