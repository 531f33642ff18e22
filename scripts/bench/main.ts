// `npm run bench`: what the relay costs, measured against a bare Hono server in the same run on
// the same machine, then end-to-end delivery, normalization and memory. Prints one table and
// writes it to BENCHMARKS.md. Ratios are what count: absolute numbers move with the machine.
import autocannon from 'autocannon';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { NotificationHeader } from '../../src/green-api/schema.ts';
import { normalize } from '../../src/green-api/normalize.ts';
import { validateConfig } from '../../src/config.ts';
import { buildEvent } from '../../src/event.ts';
import { createTargetMatcher } from '../../src/delivery/filter.ts';
import { loadFixtures } from '../../test/helpers/fixtures.ts';
import { freePort } from '../../test/helpers/net.ts';
import { startPostgres } from '../../test/helpers/postgres.ts';
import { denoRelayCommand } from './deno-relay.ts';
import { percentile, sendNotifications } from './senders.ts';
import { formatTiming, workersAtScale } from './workers-scale.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const TOKEN = 'bench-token';
const ADMIN = 'bench-admin';
const quick = process.argv.includes('--quick');
const SECONDS = quick ? 3 : 10;
const E2E_NOTIFICATIONS = quick ? 2_000 : 20_000;
const BACKLOG_NOTIFICATIONS = quick ? 500 : 5_000; // × 20 targets = the pending deliveries
const rows: [string, string, string][] = [];
const row = (what: string, value: string, target = '') => {
  rows.push([what, value, target]);
  console.log(`${what.padEnd(58)} ${value.padEnd(34)} ${target}`);
};

// ---- notifications: the whole fixture corpus, each made a new event -------------------------

const corpus = loadFixtures().map((f) => f.json);
let sequence = 0;
function nextBody(): string {
  const n = sequence++;
  const body = { ...corpus[n % corpus.length]!, timestamp: 1_700_000_000 + n } as Record<string, unknown>;
  if (typeof body.idMessage === 'string') body.idMessage = `BENCH${n}`;
  return JSON.stringify(body);
}

// ---- processes ----------------------------------------------------------------------------------

/** Clock ticks are 100 per second on Linux. */
const MS_PER_TICK = 10;

/** utime + stime of a process and all its threads from /proc, in clock ticks; with `reaped`, its waited-for children's too. */
function cpuTicks(pid: number, reaped = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ')
    .map(Number);
  return fields[11]! + fields[12]! + (reaped ? fields[13]! + fields[14]! : 0);
}

interface Server {
  url: string;
  child: ChildProcess;
  /** Peak and current resident memory, MB. */
  memory(): { peak: number; now: number };
  /** CPU time the process has used so far, all threads, ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** `deno` is the relay on Deno self-hosted (SQLite over node:sqlite), as `deno task start` runs it. */
type ServerKind = 'relay' | 'bare' | 'forwarder' | 'deno';

async function startServer(kind: ServerKind, config?: object, extraEnv: Record<string, string> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const log = join(dir, 'out.log');
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    PORT: '0',
    HOST: '127.0.0.1',
    RELAY_DATA_DIR: dir,
    ...extraEnv,
  };
  if (config) {
    writeFileSync(join(dir, 'relay.config.json'), JSON.stringify(config));
    env.RELAY_CONFIG = join(dir, 'relay.config.json');
  }
  // The relay as `npm start` runs it: the bundle that `npm run bench` builds first.
  const deno = kind === 'deno' ? denoRelayCommand() : null;
  if (deno) Object.assign(env, deno.env);
  const [command, ...args] = deno
    ? [deno.command, ...deno.args]
    : kind === 'relay'
      ? [process.execPath, 'dist/node.js']
      : [process.execPath, '--import', 'tsx', `scripts/bench/${kind}.ts`];
  const child = spawn(command!, args, { cwd: ROOT, env, stdio: ['ignore', openSync(log, 'w'), 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const look = setInterval(() => {
      const found = /"event":"relay\.started"[^\n]*"port":(\d+)/.exec(readFileSync(log, 'utf8'));
      if (found) {
        clearInterval(look);
        resolve(Number(found[1]));
      } else if (Date.now() - started > 30_000) {
        clearInterval(look);
        reject(new Error(`${kind} did not start`));
      }
    }, 50);
  });
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const cpuMs = () => cpuTicks(child.pid!) * MS_PER_TICK;
  const mb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())![1]) / 1024;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    memory: () => ({ peak: mb('VmHWM'), now: mb('VmRSS') }),
    cpuMs,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface Sinks {
  urls: string[];
  stats(): Promise<{ received: number; firstSeen: Map<string, number> }>;
  stop(): void;
}

async function startSinks(count: number, ports: number[] = []): Promise<Sinks> {
  const child = fork(join(ROOT, 'scripts/bench/sinks.ts'), [String(count), ports.join(',')], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const next = (type: string) =>
    new Promise<any>((resolve) => child.once('message', (m: any) => m.type === type && resolve(m)));
  const { urls } = await next('ready');
  return {
    urls,
    async stats() {
      const reply = next('stats');
      child.send({ type: 'stats' });
      const { received, firstSeen } = await reply;
      return { received, firstSeen: new Map(firstSeen) };
    },
    stop: () => child.kill(),
  };
}

const relayConfig = (urls: string[], extra: object = {}) => ({
  instances: { '*': { token: TOKEN } },
  admin: { token: ADMIN },
  targets: urls.map((url, i) => ({ name: `t${i}`, url, concurrency: 20, ...extra })),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---- 1. the answer path: relay vs bare Hono ----------------------------------------------------

function cannon(url: string, options: { connections: number; rate?: number }) {
  return autocannon({
    url: `${url}/webhook`,
    method: 'POST',
    connections: options.connections,
    duration: SECONDS,
    overallRate: options.rate,
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
    requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }],
  });
}

/** `rate` notifications/s for SECONDS, evenly spaced (senders.ts): each answer's time from when it was due, sorted, and the answers that were not 2xx. */
async function paced(url: string, rate: number): Promise<{ latencies: number[]; ok: number; errors: number }> {
  const pool = new Pool(url, { connections: 20 });
  const latencies: number[] = [];
  let ok = 0;
  await sendNotifications(pool, {
    count: rate * SECONDS,
    token: TOKEN,
    body: nextBody,
    rate,
    onAnswer: (_, status, ms) => {
      latencies.push(ms);
      if (status >= 200 && status < 300) ok++;
    },
  });
  await pool.close();
  return { latencies: latencies.sort((a, b) => a - b), ok, errors: latencies.length - ok };
}

async function answerPath(): Promise<void> {
  const sinks = await startSinks(3);
  const results: Record<string, { rps: number; p50: number; p99: number; p999: number; errors: number }> = {};
  const atRate: Record<string, { p50: number; p99: number; errors: number }> = {};
  for (const kind of ['bare', 'relay'] as const) {
    const server = await startServer(kind, kind === 'relay' ? relayConfig(sinks.urls) : undefined);
    await cannon(server.url, { connections: 10, rate: 200 }); // warm up the JIT
    // The fixed rate first: after the run at full speed the relay is still delivering its backlog.
    const fixed = await paced(server.url, 1_000);
    atRate[kind] = {
      p50: percentile(fixed.latencies, 0.5),
      p99: percentile(fixed.latencies, 0.99),
      errors: fixed.errors,
    };
    const max = await cannon(server.url, { connections: 10 });
    results[kind] = {
      rps: max.requests.average,
      p50: max.latency.p50,
      p99: max.latency.p99,
      p999: max.latency.p99_9,
      errors: max.errors + max.non2xx,
    };
    await server.stop();
  }
  sinks.stop();
  const { bare, relay } = results as Record<'bare' | 'relay', (typeof results)[string]>;
  row(
    'answer: bare Hono, max throughput (10 connections)',
    `${fmt(bare.rps, 0)} req/s, p50/p99/p99.9 ${bare.p50}/${bare.p99}/${bare.p999} ms`,
  );
  row(
    'answer: relay, durable SQLite, 3 targets',
    `${fmt(relay.rps, 0)} req/s, p50/p99/p99.9 ${relay.p50}/${relay.p99}/${relay.p999} ms`,
  );
  row('answer: relay / bare throughput', `${fmt((100 * relay.rps) / bare.rps)} %`, '≥ 50 %');
  const at = (kind: 'bare' | 'relay') => `${fmt(atRate[kind]!.p50, 1)} / ${fmt(atRate[kind]!.p99, 1)} ms`;
  row('answer at an even 1,000/s: bare p50 / p99', at('bare'));
  row('answer at an even 1,000/s: relay p50 / p99', at('relay'), 'p99 < 10 ms');
  const errors = relay.errors + bare.errors + atRate.relay!.errors + atRate.bare!.errors;
  if (errors > 0)
    row(
      'answer: errors or non-2xx',
      `relay ${relay.errors + atRate.relay!.errors}, bare ${bare.errors + atRate.bare!.errors}`,
    );
}

// ---- 1b. the floor: bare server, fire-and-forget forwarder and relay under one load ----------------

/** The pace of the floor's second measure, evenly spaced: CPU per notification below saturation, where neither batches much. */
const FLOOR_PACE = 700;

/** What the floor measures of one server: closed loop, then evenly paced at FLOOR_PACE. */
type Measure = { rps: number; cpu: number; deliveries: number; pacedCpu: number };

/**
 * One server under the floor's load, fanning out to `fanOut` of the sinks' targets: the closed
 * loop (16 connections) for answers/s, deliveries/s until the last one arrived and CPU per
 * notification of the whole process (all threads, from /proc) until then; then CPU per
 * notification at an even FLOOR_PACE notifications/s.
 */
async function measureServer(server: Server, sinks: Sinks, fanOut: number): Promise<Measure> {
  const received = async () => (await sinks.stats()).received;
  /** Waits until the sinks have `count` deliveries; returns when they had them. */
  const settled = async (count: number) => {
    const deadline = Date.now() + 300_000;
    while ((await received()) < count && Date.now() < deadline) await sleep(50);
    return performance.now();
  };
  const before = await received();
  const warm = await cannon(server.url, { connections: 16, rate: 500 }); // the JIT, the pools
  await settled(before + warm['2xx'] * fanOut);
  await sleep(500);
  const base = await received();
  const cpu = server.cpuMs();
  const started = performance.now();
  const run = await cannon(server.url, { connections: 16 });
  const answered = run['2xx'];
  const until = fanOut === 0 ? performance.now() : await settled(base + answered * fanOut);
  const measure = {
    rps: run.requests.average,
    cpu: (server.cpuMs() - cpu) / answered,
    deliveries: ((await received()) - base) / ((until - started) / 1000),
  };
  const pacedBase = await received();
  const pacedCpu = server.cpuMs();
  const { ok } = await paced(server.url, FLOOR_PACE);
  await settled(pacedBase + ok * fanOut);
  return { ...measure, pacedCpu: (server.cpuMs() - pacedCpu) / ok };
}

/** Runs each kind of server in `order` on one set of 3 sinks; a kind listed twice runs twice, in turns. */
async function measureInTurns(order: readonly ServerKind[]): Promise<Record<ServerKind, Measure[]>> {
  const sinks = await startSinks(3);
  const runs: Record<ServerKind, Measure[]> = { bare: [], forwarder: [], relay: [], deno: [] };
  for (const kind of order) {
    const server = await startServer(
      kind,
      kind === 'relay' || kind === 'deno' ? relayConfig(sinks.urls) : undefined,
      kind === 'forwarder' ? { FORWARD_TO: sinks.urls.join(',') } : {},
    );
    runs[kind].push(await measureServer(server, sinks, kind === 'bare' ? 0 : 3));
    await server.stop();
  }
  sinks.stop();
  return runs;
}

const mean = (list: Measure[], key: keyof Measure) => list.reduce((sum, m) => sum + m[key], 0) / list.length;
/** Each run's value after the mean, when there were several. */
const each = (list: Measure[], key: keyof Measure, digits: number) =>
  list.length > 1 ? ` (${list.map((m) => fmt(m[key], digits)).join(' / ')})` : '';
/** The two rows of one kind's runs: the closed loop and the paced one. */
function measureRows(name: string, list: Measure[], delivers: boolean): void {
  row(
    `${name} (16 connections)`,
    `${fmt(mean(list, 'rps'), 0)}${each(list, 'rps', 0)} answers/s, ${fmt(mean(list, 'cpu'), 3)}${each(list, 'cpu', 3)} ms CPU/notification${delivers ? `, ${fmt(mean(list, 'deliveries'), 0)} deliveries/s` : ''}`,
  );
  row(
    `${name.split(':')[0]}: the same at an even ${FLOOR_PACE}/s, CPU per notification`,
    `${fmt(mean(list, 'pacedCpu'), 3)}${each(list, 'pacedCpu', 3)} ms`,
  );
}

/**
 * The same closed-loop load against the bare server (answers, delivers nothing), the
 * fire-and-forget forwarder (answers, fires the body at 3 targets) and the relay (stores, answers,
 * delivers to the same 3 targets). The forwarder and the relay run twice, in turns, and their
 * figures are the means: this VM's speed drifts within minutes, and a ratio of two runs minutes
 * apart measured the drift as much as the relay.
 */
async function floor(): Promise<void> {
  const runs = await measureInTurns(['bare', 'forwarder', 'relay', 'forwarder', 'relay']);
  measureRows('floor: bare Hono (no targets)', runs.bare, false);
  measureRows('floor: fire-and-forget forwarder, 3 targets', runs.forwarder, true);
  measureRows('floor: relay, durable SQLite, 3 targets', runs.relay, true);
  const { bare, forwarder, relay } = runs;
  row(
    'floor: relay / forwarder CPU per notification',
    `${fmt(mean(relay, 'cpu') / mean(forwarder, 'cpu'), 2)} ×`,
    '≤ 1.5 ×',
  );
  row(
    `floor: the same at an even ${FLOOR_PACE}/s`,
    `${fmt(mean(relay, 'pacedCpu') / mean(forwarder, 'pacedCpu'), 2)} ×`,
  );
  row('floor: relay / forwarder answers/s', `${fmt((100 * mean(relay, 'rps')) / mean(forwarder, 'rps'))} %`, '≥ 60 %');
  row('floor: forwarder / bare answers/s', `${fmt((100 * mean(forwarder, 'rps')) / mean(bare, 'rps'))} %`);
}

/**
 * The relay on Deno self-hosted (node:sqlite, the dispatcher on the one thread it has) beside the
 * relay on Node, under the floor's load and 3 targets, in turns: the shared code must not make
 * either slower.
 */
async function deno(): Promise<void> {
  const runs = await measureInTurns(['relay', 'deno', 'relay', 'deno']);
  measureRows('Deno: relay on Node, durable SQLite, 3 targets', runs.relay, true);
  measureRows('Deno: relay on Deno, durable SQLite, 3 targets', runs.deno, true);
  row('Deno: Deno / Node answers/s', `${fmt((100 * mean(runs.deno, 'rps')) / mean(runs.relay, 'rps'))} %`);
  row('Deno: Deno / Node CPU per notification', `${fmt(mean(runs.deno, 'cpu') / mean(runs.relay, 'cpu'), 2)} ×`);
}

/** CPU time of a process, its live children and the children it has reaped (a Postgres server and its backends), ms. */
function treeCpuMs(pid: number): number {
  let ticks = cpuTicks(pid, true);
  for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean)) {
    try {
      ticks += cpuTicks(Number(child));
    } catch {
      // ended meanwhile: its time is in the parent's reaped children
    }
  }
  return ticks * MS_PER_TICK;
}

/**
 * Several relays on one Postgres against one relay on SQLite, same run, same closed-loop load (16
 * connections, split over the relays, as a balancer would), same 3 targets: answers/s, deliveries/s
 * until the last one arrived, and CPU per notification of every relay process plus (on Postgres)
 * the database server and its backends.
 */
async function sharedStore(): Promise<void> {
  const sinks = await startSinks(3);
  const postgres = await startPostgres();
  const received = async () => (await sinks.stats()).received;
  const settled = async (count: number) => {
    const deadline = Date.now() + 300_000;
    while ((await received()) < count && Date.now() < deadline) await sleep(50);
    return performance.now();
  };
  const measured: { name: string; rps: number; deliveries: number; cpu: number; dbShare: number }[] = [];
  for (const relays of [0, 1, 2, 3]) {
    const url = relays > 0 ? await postgres.database() : '';
    const servers: Server[] = [];
    for (let n = 0; n < Math.max(1, relays); n++)
      servers.push(
        await startServer(
          'relay',
          relayConfig(sinks.urls),
          relays > 0 ? { RELAY_DATABASE_URL: url, RELAY_ID: `bench-${n}` } : {},
        ),
      );
    const dbCpu = () => (relays > 0 ? treeCpuMs(postgres.pid()) : 0);
    const load = (rate?: number) =>
      Promise.all(
        servers.map((s, i) =>
          cannon(s.url, {
            // 16 in all: 6, 5 and 5 for three relays.
            connections: Math.floor(16 / servers.length) + (i < 16 % servers.length ? 1 : 0),
            rate: rate && rate / servers.length,
          }),
        ),
      );
    const before = await received();
    const warm = await load(500);
    await settled(before + warm.reduce((sum, r) => sum + r['2xx'], 0) * 3);
    await sleep(500);
    const base = await received();
    const cpu = servers.reduce((sum, s) => sum + s.cpuMs(), 0);
    const db = dbCpu();
    const started = performance.now();
    const runs = await load();
    const answered = runs.reduce((sum, r) => sum + r['2xx'], 0);
    const until = await settled(base + answered * 3);
    const relayCpu = servers.reduce((sum, s) => sum + s.cpuMs(), 0) - cpu;
    const dbUsed = dbCpu() - db;
    measured.push({
      name: relays === 0 ? '1 relay on SQLite' : `${relays} relay${relays > 1 ? 's' : ''} on Postgres`,
      rps: runs.reduce((sum, r) => sum + r.requests.average, 0),
      deliveries: ((await received()) - base) / ((until - started) / 1000),
      cpu: (relayCpu + dbUsed) / answered,
      dbShare: dbUsed / (relayCpu + dbUsed),
    });
    for (const s of servers) await s.stop();
  }
  sinks.stop();
  await postgres.stop();
  const sqlite = measured[0]!;
  for (const m of measured)
    row(
      `shared store: ${m.name}, 3 targets (16 connections)`,
      `${fmt(m.rps, 0)} answers/s, ${fmt(m.deliveries, 0)} deliveries/s, ${fmt(m.cpu, 3)} ms CPU/notification${m.dbShare > 0 ? ` (${fmt(100 * m.dbShare, 0)} % in Postgres)` : ''}`,
      m === sqlite ? '' : `${fmt(m.deliveries / sqlite.deliveries, 2)} × SQLite's deliveries/s`,
    );
}

// ---- 2. end to end --------------------------------------------------------------------------------

/** 20 senders (senders.ts) at full speed or at `rate`; then every delivery's time from the answer to its receipt. */
async function endToEnd(targetCount: number, rate?: number): Promise<void> {
  const sinks = await startSinks(targetCount);
  const server = await startServer('relay', relayConfig(sinks.urls));
  const pool = new Pool(server.url, { connections: 20 });
  const answeredAt = new Map<string, number>();
  const cpuBefore = server.cpuMs();
  const started = performance.timeOrigin + performance.now();
  await sendNotifications(pool, {
    count: E2E_NOTIFICATIONS,
    token: TOKEN,
    body: nextBody,
    rate,
    onAnswer: (text) =>
      answeredAt.set((JSON.parse(text) as { id: string }).id, performance.timeOrigin + performance.now()),
  });
  const expected = E2E_NOTIFICATIONS * targetCount;
  let stats = await sinks.stats();
  const deadline = Date.now() + 600_000;
  while (stats.firstSeen.size < expected && Date.now() < deadline) {
    await sleep(250);
    stats = await sinks.stats();
  }
  const latencies: number[] = [];
  let last = 0;
  for (const [key, at] of stats.firstSeen) {
    const id = key.slice(key.indexOf(':') + 1);
    latencies.push(at - answeredAt.get(id)!);
    last = Math.max(last, at);
  }
  latencies.sort((a, b) => a - b);
  const seconds = (last - started) / 1000;
  const cpuPerNotification = (server.cpuMs() - cpuBefore) / E2E_NOTIFICATIONS;
  row(
    `end to end: ${fmt(E2E_NOTIFICATIONS, 0)} notifications × ${targetCount} target${targetCount > 1 ? 's' : ''}, ${rate ? `sent at ${fmt(rate, 0)}/s` : 'sent at full speed'}`,
    `${fmt(stats.firstSeen.size / seconds, 0)} deliveries/s, ${fmt(cpuPerNotification, 2)} ms CPU/notification, answer→receipt p50/p99 ${fmt(percentile(latencies, 0.5))}/${fmt(percentile(latencies, 0.99))} ms`,
    targetCount === 5 ? (rate === 1_000 ? 'p50 < 20 ms' : rate ? '' : '≥ 5,000/s') : '',
  );
  if (stats.firstSeen.size < expected)
    row(`end to end ×${targetCount}: MISSING deliveries`, String(expected - stats.firstSeen.size));
  await pool.close();
  await server.stop();
  sinks.stop();
}

// ---- 3. normalization ----------------------------------------------------------------------------

function normalization(): void {
  const receivedAt = new Date();
  const run = (n: number) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const raw = corpus[i % corpus.length]!;
      normalize(raw, NotificationHeader.parse(raw), receivedAt);
    }
    return performance.now() - start;
  };
  run(50_000);
  const n = quick ? 100_000 : 500_000;
  const ms = run(n);
  row(
    'normalization: parse + validate + normalize, one core',
    `${fmt((n / ms) * 1000, 0)} /s (${fmt((ms * 1000) / n, 2)} µs each)`,
    '≥ 100,000 /s',
  );
}

/** What choosing targets costs per notification: 20 targets with `types` only, then with `where`. */
async function filters(): Promise<void> {
  const receivedAt = new Date();
  const events = await Promise.all(corpus.map((raw) => buildEvent(raw, NotificationHeader.parse(raw), receivedAt)));
  const where = {
    'data.message.kind': { $in: ['text', 'extendedText', 'image'] },
    'data.chat.isGroup': false,
    $or: [
      { 'data.message.text': { $regex: '^(order|заказ) #\\d+', $flags: 'i' } },
      { 'data.sender.id': { $startsWith: '7900' } },
    ],
  };
  const targets = (withWhere: boolean) =>
    Array.from({ length: 20 }, (_, i) => ({
      name: `t${i}`,
      url: `http://127.0.0.1:9/${i}`,
      types: ['com.green-api.message.*'],
      ...(withWhere ? { where } : {}),
    }));
  const measure = (withWhere: boolean) => {
    const match = createTargetMatcher(
      validateConfig({ instances: { '1101000001': { token: 'bench' } }, targets: targets(withWhere) }, {}).targets,
    );
    const run = (n: number) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) match(events[i % events.length]!);
      return performance.now() - start;
    };
    run(20_000);
    const n = quick ? 50_000 : 200_000;
    return (run(n) * 1000) / n;
  };
  const typesOnly = measure(false);
  const withWhere = measure(true);
  row('filters: 20 targets, `types` only, per notification', `${fmt(typesOnly, 2)} µs`);
  row(
    'filters: 20 targets, `types` + a 4-condition `where` with $regex',
    `${fmt(withWhere, 2)} µs`,
    '< 1% of the CPU per notification',
  );
}

// ---- 4. memory -------------------------------------------------------------------------------------

async function memory(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) ports.push(await freePort());
  const urls = ports.map((port) => `http://127.0.0.1:${port}/hook`);
  // Targets are down (nothing listens): their circuits open and hold every delivery, none goes
  // dead. Probes every second, so that the drain measures delivering, not the wait for a probe.
  const circuit = { afterFailures: 10, probeEvery: '1s', holdFor: '1h' };
  const server = await startServer('relay', relayConfig(urls, { retry: Array(50).fill('2s'), circuit }));
  const pool = new Pool(server.url, { connections: 20 });
  await sendNotifications(pool, { count: BACKLOG_NOTIFICATIONS, token: TOKEN, body: nextBody });
  const pending = async () => {
    const response = await pool.request({
      path: '/metrics',
      method: 'GET',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const text = await response.body.text();
    return [...text.matchAll(/^green_relay_deliveries_pending\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };
  const backlog = await pending();
  await sleep(10_000); // let the dispatcher churn through failing attempts
  const during = server.memory();
  const sinks = await startSinks(20, ports);
  const drainStart = Date.now();
  while ((await pending()) > 0 && Date.now() - drainStart < 600_000) await sleep(500);
  const drainSeconds = (Date.now() - drainStart) / 1000;
  const after = server.memory();
  row(
    `memory: peak RSS with ${fmt(backlog, 0)} pending deliveries (20 targets down)`,
    `${fmt(during.peak, 0)} MB`,
    '< 200 MB',
  );
  row(
    'memory: RSS after the backlog drained',
    `${fmt(after.now, 0)} MB (drained in ${fmt(drainSeconds)} s, peak ${fmt(after.peak, 0)} MB)`,
  );
  await pool.close();
  await server.stop();
  sinks.stop();
}

// ---- 5. the Workers bundle ---------------------------------------------------------------------------

function workersBundle(): void {
  const out = mkdtempSync(join(tmpdir(), 'bench-workers-'));
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { cwd: ROOT, stdio: 'ignore' });
  const bundle = readFileSync(join(out, 'index.js'));
  row(
    'Workers bundle (wrangler deploy --dry-run, minified)',
    `${fmt(gzipSync(bundle).byteLength / 1024)} KiB gzipped (${fmt(bundle.byteLength / 1024, 0)} KiB raw)`,
    '< 150 KiB',
  );
}

// ---- 6. Workers at many instances ----------------------------------------------------------------------

async function workersScale(): Promise<void> {
  for (const r of await workersAtScale(quick ? [100] : [1_000, 5_000]))
    row(
      `Workers (wrangler dev), ${fmt(r.instances, 0)} instances: list events / open one / replay it / targets page`,
      [r.list, r.open, r.replay, r.targets].map(formatTiming).join(' / '),
      'independent of the instance count',
    );
}

// ---- the run ---------------------------------------------------------------------------------------

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
console.log(`green-relay bench${quick ? ' (quick)' : ''}: ${machine}\n`);
// --only=normalization,filters,answer,floor,deno,postgres,e2e,memory,bundle,workers runs some parts (for working on one of them).
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
/** --e2e=5 or --e2e=5@1000: only that end-to-end run (targets, and a pace in notifications/s). */
const oneE2e = process.argv.find((arg) => arg.startsWith('--e2e='))?.slice('--e2e='.length);
const part = (name: string) => !oneE2e && (!only || only.includes(name));
if (part('normalization')) normalization();
if (part('filters')) await filters();
if (part('answer')) await answerPath();
if (part('floor')) await floor();
if (part('deno')) await deno();
if (part('postgres')) await sharedStore();
if (oneE2e) {
  const [targets, rate] = oneE2e.split('@').map(Number);
  await endToEnd(targets!, rate);
} else if (part('e2e')) {
  for (const targets of [1, 5, 20]) await endToEnd(targets);
  // Paced: the latency of a relay that keeps up, and of one at its limit on this machine.
  await endToEnd(5, 500);
  await endToEnd(5, 1_000);
}
if (part('memory')) await memory();
if (part('bundle')) workersBundle();
if (part('workers')) await workersScale();

/** Where BENCHMARKS.md's hand-kept part begins: everything from this heading on is kept as it is. */
const CHANGE_LOG = '\n## Before and after, per change\n';
const table = [
  '| measure | result | target |',
  '|---|---|---|',
  ...rows.map(([what, value, target]) => `| ${what} | ${value} | ${target} |`),
].join('\n');
if (!quick && !only && !oneE2e) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = previous.indexOf(CHANGE_LOG);
  const log = at < 0 ? '' : previous.slice(at);
  writeFileSync(
    file,
    `# Benchmarks\n\nWritten by \`npm run bench\` (scripts/bench/main.ts) on ${machine}. Everything ran on this one\nmachine at once: the load generator, the relay or the bare server, and the target servers share its\ncores, so compare the relay with the bare server of the same run rather than with other machines.\n\n${table}\n${log}`,
  );
  console.log('\nwritten to BENCHMARKS.md');
}
process.exit(0);
