// `npm run profile -- --perf`: Linux perf's view of the relay, for the profile script. perf samples
// a thread only while it runs on a CPU, so unlike `--cpu-prof` (wall time on this kind of VM) its
// shares are shares of CPU; and it sees what V8's profiler cannot: the kernel, SQLite, the
// garbage collector's and the compiler's helper threads. Node names its JIT frames for perf with
// --perf-basic-prof. Needs `perf` on the PATH (Debian: linux-perf).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Where a sample's time goes: a frame matching `pattern` anywhere on its stack counts it. */
const CATEGORIES: [name: string, pattern: RegExp][] = [
  ['kernel (system calls, the network stack)', /\[kernel\.kallsyms\]/],
  ['SQLite (better-sqlite3)', /better_sqlite3\.node/],
  ['undici (requests to targets)', /undici\//],
  ['HTTP server (llhttp, node:_http, @hono/node-server)', /llhttp|node:_http_|@hono\/node-server/],
  ['Hono routing and context', /node_modules\/hono\//],
  ['zod (validation)', /node_modules\/zod\//],
  ['JSON.stringify / JSON.parse', /JsonStringify|JsonParse/],
  ['structured clone (thread messages)', /ValueSerializer|ValueDeserializer/],
  ['garbage collector', /Scavenge|MarkCompact|ConcurrentMarking|Sweeper|MinorMark/],
  ['compiler (TurboFan, Sparkplug)', /compiler::|Compile(Lazy|Optimized|Baseline|Batch)|BaselineCompiler/],
  ['fdatasync and fsync', /fdatasync|fsync/],
];

export interface PerfRecording {
  /** Stops recording (perf writes its file on SIGINT). */
  stop(): Promise<void>;
}

export function startPerf(pid: number, file: string): PerfRecording {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('--perf needs Linux perf on the PATH (Debian: linux-perf)');
  }
  const perf: ChildProcess = spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', file], {
    stdio: 'ignore',
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        perf.once('exit', () => resolve());
        perf.kill('SIGINT');
      }),
  };
}

/** Each thread's samples: its stacks, leaf first, one `symbol (dso)` string per frame. */
function readSamples(file: string): Map<string, string[][]> {
  const text = execFileSync('perf', ['script', '-i', file, '-F', 'tid,ip,sym,dso'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const threads = new Map<string, string[][]>();
  for (const block of text.split(/\n\s*\n/)) {
    const [head, ...frames] = block.split('\n').filter((line) => line.trim() !== '');
    if (!head) continue;
    const tid = head.trim().split(/\s+/)[0]!;
    const stack = frames.map((line) => line.trim().replace(/^[0-9a-f]+\s+/, ''));
    let samples = threads.get(tid);
    if (!samples) threads.set(tid, (samples = []));
    samples.push(stack);
  }
  return threads;
}

/** Prints, for the busiest threads, their share of the samples, the categories and the top leaf functions. */
export function printPerfSummary(file: string, mainTid: string, top: number): void {
  const threads = [...readSamples(file)].sort((a, b) => b[1].length - a[1].length);
  const total = threads.reduce((sum, [, samples]) => sum + samples.length, 0);
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1).padStart(5)}%`;
  console.log(`\nperf: ${total} samples (~1 ms of CPU each)`);
  for (const [tid, samples] of threads.slice(0, 4)) {
    const name = tid === mainTid ? 'main thread' : 'thread';
    console.log(`\n${name} ${tid}: ${pct(samples.length, total)} of all samples; of its own:`);
    for (const [category, pattern] of CATEGORIES) {
      const hits = samples.filter((stack) => stack.some((frame) => pattern.test(frame))).length;
      if (hits / samples.length >= 0.01) console.log(`  ${pct(hits, samples.length)}  ${category}`);
    }
    const leaves = new Map<string, number>();
    for (const stack of samples) {
      const leaf = (stack[0] ?? '?').replace(/\s+\(.*\)$/, '');
      leaves.set(leaf, (leaves.get(leaf) ?? 0) + 1);
    }
    console.log('  heaviest functions by self time:');
    for (const [leaf, hits] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`    ${pct(hits, samples.length)}  ${leaf.slice(0, 120)}`);
  }
}
