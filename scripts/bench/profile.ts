// `npm run profile`: where the relay's CPU goes. Runs the built relay under `node --cpu-prof` (both
// threads write a profile), sends it notifications as the bench's end-to-end run does, and prints
// each thread's busy time and its heaviest functions by self time, then each thread's CPU (user +
// system time from /proc). Busy time is wall time: a thread that waits in a system call or is
// descheduled looks busy, so on a shared VM the /proc figures are the ones to compare; with
// --cpu-only the relay runs without the profiler, and only those are printed. With --perf, Linux
// perf samples it instead (perf-record.ts): shares of CPU per thread, the kernel and SQLite included.
// With --gc (and --cpu-only), what each V8 heap collected and paused for (gc-trace.ts); with
// --alloc (and --cpu-only), what each thread allocated per notification and where (alloc-sampler.cjs).
// It also prints the answers' p50/p99/p99.9, from when each was due (senders.ts), as the bench counts them.
//   npm run profile -- --targets=3 --notifications=20000 [--warm=3000] [--rate=1000] [--keep] [--cpu-only [--gc | --alloc] | --perf]
// --system=forwarder (or bare) runs the bench's fire-and-forget forwarder (or bare server) instead
// of the relay, to hold each thread's CPU against the floor's at the same pace; --system=deno runs
// the relay on Deno self-hosted (SQLite), with --cpu-only or --perf.
// With RELAY_DATABASE_URL set, the relay runs on that Postgres (one thread: store and dispatcher on the main one).
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { loadFixtures } from '../../test/helpers/fixtures.ts';
import { denoRelayCommand } from './deno-relay.ts';
import { createGcTally } from './gc-trace.ts';
import { printPerfSummary, startPerf } from './perf-record.ts';
import { percentile, sendNotifications } from './senders.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const TARGETS = arg('targets', 3);
const NOTIFICATIONS = arg('notifications', 20_000);
/** Sent first at the same pace and left out of every figure: the JIT compiles the hot paths meanwhile. */
const WARM = arg('warm', 3_000);
const RATE = arg('rate', 0);
const TOP = arg('top', 25);
const TOKEN = 'profile-token';
const SYSTEM = process.argv.find((a) => a.startsWith('--system='))?.split('=')[1] ?? 'relay';
if (!['relay', 'deno', 'forwarder', 'bare'].includes(SYSTEM))
  throw new Error(`--system=${SYSTEM}: relay, deno, forwarder or bare`);

const corpus = loadFixtures().map((f) => f.json);
let sequence = 0;
const nextBody = () => {
  const n = sequence++;
  const body = { ...corpus[n % corpus.length]!, timestamp: 1_700_000_000 + n } as Record<string, unknown>;
  if (typeof body.idMessage === 'string') body.idMessage = `PROFILE${n}`;
  return JSON.stringify(body);
};

const dir = mkdtempSync(join(tmpdir(), 'profile-'));
const sinks = fork(join(ROOT, 'scripts/bench/sinks.ts'), [String(TARGETS), ''], {
  execArgv: ['--import', 'tsx'],
  stdio: 'inherit',
});
const message = (type: string) =>
  new Promise<any>((resolve) => {
    const listener = (m: any) => {
      if (m.type !== type) return;
      sinks.off('message', listener);
      resolve(m);
    };
    sinks.on('message', listener);
  });
const { urls } = await message('ready');
writeFileSync(
  join(dir, 'relay.config.json'),
  JSON.stringify({
    instances: { '*': { token: TOKEN } },
    admin: { token: 'x' },
    targets: urls.map((url: string, i: number) => ({ name: `t${i}`, url, concurrency: 20 })),
  }),
);
const PERF = process.argv.includes('--perf');
const PROFILED = !PERF && !process.argv.includes('--cpu-only');
const gc = process.argv.includes('--gc') ? createGcTally() : null;
if (gc && (PROFILED || PERF || SYSTEM === 'deno')) throw new Error('--gc: with --cpu-only, on Node');
const ALLOC = process.argv.includes('--alloc');
if (ALLOC && (PROFILED || PERF || gc || SYSTEM === 'deno')) throw new Error('--alloc: with --cpu-only, on Node');
const profilerFlags = gc
  ? ['--trace-gc']
  : ALLOC
    ? ['--require', join(ROOT, 'scripts/bench/alloc-sampler.cjs')]
    : PERF
      ? // The JIT's symbol map goes to /tmp/perf-<pid>.map; V8 also writes a log with it, kept out of the way here.
        ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`]
      : PROFILED
        ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`]
        : [];
if (SYSTEM === 'deno' && PROFILED) throw new Error('--system=deno: with --cpu-only or --perf');
const deno = SYSTEM === 'deno' ? denoRelayCommand(PERF ? ['--v8-flags=--perf-basic-prof'] : []) : null;
const [command, ...args] = deno
  ? [deno.command, ...deno.args]
  : [
      process.execPath,
      ...profilerFlags,
      ...(SYSTEM === 'relay' ? ['dist/node.js'] : ['--import', 'tsx', `scripts/bench/${SYSTEM}.ts`]),
    ];
const relay = spawn(command!, args, {
  cwd: ROOT,
  env: {
    PATH: process.env.PATH,
    ...deno?.env,
    PORT: '0',
    HOST: '127.0.0.1',
    RELAY_DATA_DIR: dir,
    RELAY_CONFIG: join(dir, 'relay.config.json'),
    FORWARD_TO: urls.join(','),
    ...(ALLOC ? { ALLOC_DIR: dir } : {}),
    ...(process.env.RELAY_DATABASE_URL ? { RELAY_DATABASE_URL: process.env.RELAY_DATABASE_URL } : {}),
  },
  stdio: ['ignore', 'pipe', 'ignore'],
});
let out = '';
relay.stdout!.on('data', (chunk) => (out += chunk));
const port = await new Promise<number>((resolve) => {
  const look = setInterval(() => {
    const found = /"event":"relay\.started"[^\n]*"port":(\d+)/.exec(out);
    if (found) {
      clearInterval(look);
      resolve(Number(found[1]));
    }
  }, 50);
});
relay.stdout!.removeAllListeners('data');
if (gc) relay.stdout!.on('data', (chunk) => gc.take(String(chunk)));
else relay.stdout!.resume();

/** Each thread's user + system time so far, in clock ticks (100 a second), by thread id. */
function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks.set(tid, Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

/** Waits until the sinks took `count` requests in all (the bare server sends them none). */
async function deliveredAll(count: number): Promise<void> {
  if (SYSTEM === 'bare') return;
  for (;;) {
    sinks.send({ type: 'stats' });
    // Every request a sink took: the forwarder sends no webhook-id, so its firsts cannot be told apart.
    const { received } = await message('stats');
    if (received >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 20 });
await sendNotifications(pool, { count: WARM, token: TOKEN, body: nextBody, rate: RATE || undefined });
await deliveredAll(WARM * TARGETS);
const perf = PERF ? startPerf(relay.pid!, join(dir, 'perf.data')) : null;
gc?.reset();
if (ALLOC) writeFileSync(join(dir, 'start'), '');
const ticksBefore = threadTicks(relay.pid!);
const started = performance.now();
const latencies: number[] = [];
await sendNotifications(pool, {
  count: NOTIFICATIONS,
  token: TOKEN,
  body: nextBody,
  rate: RATE || undefined,
  onAnswer: (_, __, ms) => latencies.push(ms),
});
const answered = performance.now();
await deliveredAll((WARM + NOTIFICATIONS) * TARGETS);
const delivered = performance.now();
const ticksAfter = threadTicks(relay.pid!);
gc?.stop();
if (ALLOC) writeFileSync(join(dir, 'stop'), '');
const allocFiles = ALLOC ? await allocProfiles() : [];
await perf?.stop();
await pool.close();
relay.kill('SIGTERM');
await new Promise((resolve) => relay.once('exit', resolve));
sinks.kill();

latencies.sort((a, b) => a - b);
const answerAt = (p: number) => percentile(latencies, p).toFixed(1);
console.log(
  `${NOTIFICATIONS} notifications × ${TARGETS} targets${RATE ? ` at ${RATE}/s` : ''}: answered in ${((answered - started) / 1000).toFixed(1)} s (p50/p99/p99.9 ${answerAt(0.5)}/${answerAt(0.99)}/${answerAt(0.999)} ms), delivered in ${((delivered - started) / 1000).toFixed(1)} s`,
);

// The main thread has the process's id; the busiest other is the store thread on SQLite; the
// rest are V8's helpers (GC, compilation) and libuv's pool (the WAL's syncs, file reads).
const perNotification = (ticks: number) => Math.round((ticks * 10_000) / NOTIFICATIONS);
const used = [...ticksAfter].map(
  ([tid, ticks]) => [tid, perNotification(ticks - (ticksBefore.get(tid) ?? 0))] as const,
);
const main = used.find(([tid]) => tid === String(relay.pid))![1];
const others = used.filter(([tid]) => tid !== String(relay.pid)).sort((a, b) => b[1] - a[1]);
const sum = (list: (readonly [string, number])[]) => list.reduce((total, [, us]) => total + us, 0);
console.log(
  `CPU per notification (/proc): ${main + sum(others)} µs: main thread ${main}, busiest other thread ${others[0]?.[1] ?? 0}, the ${others.length - 1} others ${sum(others.slice(1))}`,
);
gc?.print(NOTIFICATIONS);
if (ALLOC) printAllocations(allocFiles);

/** The threads' allocation files, once no thread has written one for 300 ms (at most 10 s). */
async function allocProfiles(): Promise<string[]> {
  let files: string[] = [];
  for (let quiet = 0, tries = 0; quiet < 3 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = readdirSync(dir).filter((f) => /^alloc-\d+\.json$/.test(f));
    quiet = now.length > 0 && now.length === files.length ? quiet + 1 : 0;
    files = now;
  }
  return files.sort().map((f) => join(dir, f));
}

function printAllocations(files: string[]): void {
  console.log(
    '\nAllocated per notification (sampled; the sampler slows the relay, so the CPU above is not comparable):',
  );
  for (const file of files) {
    const sites = Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>);
    const total = sites.reduce((sum, [, bytes]) => sum + bytes, 0);
    const kb = (bytes: number) => (bytes / 1024 / NOTIFICATIONS).toFixed(2);
    const id = /alloc-(\d+)\.json$/.exec(file)![1];
    console.log(`  ${id === '0' ? 'main thread' : `thread ${id}`}: ${kb(total)} KB`);
    for (const [site, bytes] of sites.sort((a, b) => b[1] - a[1]).slice(0, TOP))
      console.log(`    ${kb(bytes).padStart(6)} KB  ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${site}`);
  }
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
for (const file of PROFILED ? readdirSync(join(dir, 'prof')).sort() : []) {
  const profile = JSON.parse(readFileSync(join(dir, 'prof', file), 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name !== '(idle)' && name !== '(program)') busy += us;
    const where = node.callFrame.url
      ? `${node.callFrame.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${node.callFrame.lineNumber + 1}`
      : '';
    const key = `${name} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const total = profile.endTime - profile.startTime;
  console.log(
    `\n${file}: busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(1)} s, ${(busy / (WARM + NOTIFICATIONS)).toFixed(1)} µs per notification (the warm-up's included)`,
  );
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
  }
}
const KEEP = process.argv.includes('--keep');
if (PERF) {
  printPerfSummary(join(dir, 'perf.data'), String(relay.pid), Math.min(TOP, 12));
  // `perf script` needs the JIT's symbol map to name the kept file's JavaScript frames.
  if (!KEEP) rmSync(`/tmp/perf-${relay.pid}.map`, { force: true });
}
if (KEEP)
  console.log(
    `\nprofiles kept in ${join(dir, PERF ? 'perf.data' : 'prof')}${PERF ? ` (JavaScript's names: /tmp/perf-${relay.pid}.map)` : ''}`,
  );
process.exit(0);
