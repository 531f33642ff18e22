// The proof that nothing is lost: a stand-in for Green API (one notification at a time per
// instance, the same one resent until it gets a 200, on a compressed clock) sends to the Node
// relay, or to three relays sharing a Postgres, while faults are thrown at them, then checks that
// every accepted event reached every target at least once, and counts the duplicates. `npm run
// proof` runs every scenario at full size; test/proof.test.ts runs a short form in `npm test`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config.ts';
import { createJsonLogger } from '../../src/log.ts';
import { validateConfig } from '../../src/config.ts';
import { startNodeRelay } from '../../src/runtimes/node/relay.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { freePort } from '../../test/helpers/net.ts';
import { startPostgres } from '../../test/helpers/postgres.ts';
import { spawnRelay, type RelayProcess } from '../../test/helpers/process.ts';
import { startSink, type Sink, type SinkReply } from '../../test/helpers/sink.ts';

const TOKEN = 'proof-token';
/** Green API waits a minute before resending; the proof waits this long. */
const RESEND_MS = 50;

export interface ScenarioResult {
  scenario: string;
  sent: number;
  /** Answers other than 200 (or none), each followed by a resend, as Green API does. */
  resent: number;
  accepted: number;
  delivered: Record<string, number>;
  duplicates: number;
  lost: number;
  /** Events the per-chat ordered target first received before an older one of the same chat. */
  outOfOrder: number;
  seconds: number;
}

export interface ProofOptions {
  instances: number;
  perInstance: number;
  /** SIGKILLs in the kill scenario, and in the shared one (of random relays). */
  kills: number;
  /** The load scenario, or null to skip it. */
  load: { instances: number; perSecond: number; seconds: number } | null;
}

// ---- targets that fail as real ones do -----------------------------------------------------

interface Target {
  name: string;
  sink: Sink;
  /** Event id -> how many times it was taken (answered 2xx). */
  took: Map<string, number>;
  /** The message ids in the order they were first taken. */
  firstTaken: string[];
  perChat: boolean;
}

/** A target that answers as `fault` decides, and notes what it took. */
async function target(name: string, fault: (n: number) => SinkReply, perChat = false): Promise<Target> {
  const took = new Map<string, number>();
  const firstTaken: string[] = [];
  let n = 0;
  const sink = await startSink((request) => {
    const reply = fault(n++);
    if (!reply.hang && !reply.drop && (reply.status ?? 200) < 300) {
      const id = String(request.headers['webhook-id']);
      if (!took.has(id))
        firstTaken.push((JSON.parse(request.body.toString()) as { data: { message: { id: string } } }).data.message.id);
      took.set(id, (took.get(id) ?? 0) + 1);
    }
    return reply;
  });
  return { name, sink, took, firstTaken, perChat };
}

/** Messages are PROOF-<instance>-<n>, one chat per instance: count where n goes backwards. */
function inversions(firstTaken: string[]): number {
  const last = new Map<string, number>();
  let count = 0;
  for (const id of firstTaken) {
    const [, instance, n] = /^PROOF-(\d+)-(\d+)$/.exec(id)!;
    if (Number(n) < (last.get(instance!) ?? -1)) count++;
    last.set(instance!, Math.max(Number(n), last.get(instance!) ?? -1));
  }
  return count;
}

/** A pseudo-random sequence with a seed, so that a run can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

async function faultyTargets(seed: number) {
  const roll = random(seed);
  const outageStart = Date.now() + 1_000;
  return Promise.all([
    target('flaky', () => (roll() < 0.3 ? { status: 500, body: 'flaky' } : { status: 200 })),
    target('limited', () => (roll() < 0.2 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 })),
    target('unreliable', () => {
      const r = roll();
      if (r < 0.05) return { hang: true }; // past the 500 ms timeout
      if (r < 0.1) return { drop: true }; // connection closed without an answer
      return { status: 200 };
    }),
    target('outage', () =>
      Date.now() > outageStart && Date.now() < outageStart + 2_000 ? { status: 503 } : { status: 200 },
    ),
    target('ordered', () => (roll() < 0.3 ? { status: 500 } : { status: 200 }), true),
  ]);
}

function relayConfig(targets: Target[]): ConfigInput {
  return {
    instances: { '*': { token: TOKEN } },
    targets: targets.map((t) => ({
      name: t.name,
      url: t.sink.url,
      timeoutMs: 500,
      retry: Array(50).fill('200ms'),
      // Green API's minute is 50 ms here: the circuit's minute is 200 ms.
      circuit: { afterFailures: 10, probeEvery: '200ms', holdFor: '1h' },
      concurrency: 10,
      ordering: t.perChat ? ('per-chat' as const) : ('none' as const),
    })),
  };
}

// ---- Green API's side -------------------------------------------------------------------------

const text = fixture('incomingMessageReceived.textMessage.json').json;

/**
 * Sends `count` notifications for each instance, one at a time per instance, each resent until
 * the relay answers 200; returns the event ids the relay accepted. `url()` may change (restarts).
 */
async function playGreenApi(
  url: () => string,
  instances: number,
  count: number,
  perSecond = 0,
): Promise<{ sent: number; resent: number; accepted: Set<string> }> {
  const accepted = new Set<string>();
  let sent = 0;
  let resent = 0;
  await Promise.all(
    Array.from({ length: instances }, async (_, instance) => {
      const started = Date.now();
      for (let i = 0; i < count; i++) {
        if (perSecond > 0) {
          const due = started + (i * 1000) / perSecond;
          if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        }
        const body = JSON.stringify({
          ...text,
          idMessage: `PROOF-${instance}-${i}`,
          instanceData: { idInstance: 1101000000 + instance, wid: '1@c.us', typeInstance: 'whatsapp' },
        });
        sent++;
        for (;;) {
          try {
            const response = await fetch(`${url()}/webhook`, {
              method: 'POST',
              headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(5_000),
            });
            const answer = (await response.json()) as { id?: string };
            if (response.status === 200 && answer.id) {
              accepted.add(answer.id);
              break;
            }
          } catch {
            // the relay is down or restarting: as Green API does, try again
          }
          resent++;
          await new Promise((resolve) => setTimeout(resolve, RESEND_MS));
        }
      }
    }),
  );
  return { sent, resent, accepted };
}

/** Waits until every accepted event reached every target, or the deadline; then the tally. */
async function tally(
  scenario: string,
  started: number,
  { sent, resent, accepted }: Awaited<ReturnType<typeof playGreenApi>>,
  targets: Target[],
  timeoutMs = 120_000,
): Promise<ScenarioResult> {
  const deadline = Date.now() + timeoutMs;
  const missing = () => targets.reduce((sum, t) => sum + [...accepted].filter((id) => !t.took.has(id)).length, 0);
  while (missing() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const delivered = Object.fromEntries(
    targets.map((t) => [t.name, [...accepted].filter((id) => t.took.has(id)).length]),
  );
  const duplicates = targets.reduce((sum, t) => sum + [...t.took.values()].reduce((extra, n) => extra + n - 1, 0), 0);
  const outOfOrder = targets.filter((t) => t.perChat).reduce((sum, t) => sum + inversions(t.firstTaken), 0);
  return {
    scenario,
    sent,
    resent,
    accepted: accepted.size,
    delivered,
    duplicates,
    lost: missing(),
    outOfOrder,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The relay in this process, for scenarios that reach into its store rather than kill it. */
function startInProcess(targets: Target[], name: string) {
  return startNodeRelay({
    config: validateConfig(relayConfig(targets), {}),
    dataDir: mkdtempSync(join(tmpdir(), `proof-${name}-`)),
    port: 0,
    hostname: '127.0.0.1',
    logger: createJsonLogger(() => {}),
  });
}

// ---- the scenarios ---------------------------------------------------------------------------------------

/** SIGKILL at random moments while notifications and deliveries are under way, then restart. */
async function killScenario(options: ProofOptions): Promise<ScenarioResult> {
  const targets = await faultyTargets(1);
  const dataDir = mkdtempSync(join(tmpdir(), 'proof-kill-'));
  // The same port after every restart, as Green API keeps sending to the same URL.
  const env = { PORT: String(await freePort()) };
  const config = relayConfig(targets);
  let relay = await spawnRelay(config, dataDir, env);
  const started = Date.now();
  const roll = random(7);
  const sending = playGreenApi(() => relay.url, options.instances, options.perInstance);
  for (let k = 0; k < options.kills; k++) {
    await new Promise((resolve) => setTimeout(resolve, 300 + roll() * 700));
    relay.child.kill('SIGKILL');
    await relay.exited;
    relay = await spawnRelay(config, dataDir, env);
  }
  const result = await tally(
    `relay killed with SIGKILL ×${options.kills}, faulty targets`,
    started,
    await sending,
    targets,
  );
  relay.child.kill('SIGKILL');
  for (const t of targets) await t.sink.close();
  return result;
}

/** The store fails (SQLITE_FULL: the database may not grow) for a while, then recovers. */
async function storeScenario(options: ProofOptions): Promise<ScenarioResult> {
  const targets = await faultyTargets(2);
  const relay = await startInProcess(targets, 'store');
  const started = Date.now();
  const sending = playGreenApi(() => relay.url, options.instances, options.perInstance);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await relay.db.exec('PRAGMA max_page_count = 1');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await relay.db.exec('PRAGMA max_page_count = 1073741823');
  const result = await tally('store full for 1.5 s (503s), then recovered', started, await sending, targets);
  await relay.close(100);
  for (const t of targets) await t.sink.close();
  return result;
}

/**
 * Three relays on one Postgres behind Green API's round robin (each send goes to the next relay
 * that is up), random SIGKILLs of random relays, each restarted under its name after a moment.
 */
async function sharedScenario(options: ProofOptions): Promise<ScenarioResult> {
  const targets = await faultyTargets(3);
  const postgres = await startPostgres();
  const env = { RELAY_DATABASE_URL: await postgres.database() };
  const config = relayConfig(targets);
  const dataDir = mkdtempSync(join(tmpdir(), 'proof-shared-'));
  const start = async (n: number) =>
    spawnRelay(config, dataDir, { ...env, RELAY_ID: `relay-${n}`, PORT: String(ports[n]) });
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const relays: (RelayProcess | null)[] = [];
  for (const n of [0, 1, 2]) relays.push(await start(n));
  let turn = 0;
  const next = () => `http://127.0.0.1:${ports[turn++ % ports.length]}`;
  const started = Date.now();
  const roll = random(11);
  const sending = playGreenApi(next, options.instances, options.perInstance);
  for (let k = 0; k < options.kills; k++) {
    await new Promise((resolve) => setTimeout(resolve, 300 + roll() * 700));
    const n = Math.floor(roll() * relays.length);
    const relay = relays[n]!;
    relays[n] = null;
    relay.child.kill('SIGKILL');
    await relay.exited;
    await new Promise((resolve) => setTimeout(resolve, 200));
    relays[n] = await start(n);
  }
  const result = await tally(
    `3 relays on Postgres, random relays killed ×${options.kills}, faulty targets`,
    started,
    await sending,
    targets,
  );
  for (const relay of relays) relay?.child.kill('SIGKILL');
  await Promise.all(relays.map((relay) => relay?.exited));
  for (const t of targets) await t.sink.close();
  await postgres.stop();
  return result;
}

/** Two relays on a Postgres that goes away for 2 s (a crash, a failover) and comes back. */
async function postgresScenario(options: ProofOptions): Promise<ScenarioResult> {
  const targets = await faultyTargets(4);
  const postgres = await startPostgres();
  const env = { RELAY_DATABASE_URL: await postgres.database() };
  const dataDir = mkdtempSync(join(tmpdir(), 'proof-pg-'));
  const relays = [
    await spawnRelay(relayConfig(targets), dataDir, { ...env, RELAY_ID: 'relay-0' }),
    await spawnRelay(relayConfig(targets), dataDir, { ...env, RELAY_ID: 'relay-1' }),
  ];
  let turn = 0;
  const started = Date.now();
  const sending = playGreenApi(() => relays[turn++ % 2]!.url, options.instances, options.perInstance);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await postgres.pause();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await postgres.resume();
  const result = await tally('Postgres away for 2 s (503s), then back', started, await sending, targets);
  for (const relay of relays) relay.child.kill('SIGKILL');
  await Promise.all(relays.map((relay) => relay.exited));
  for (const t of targets) await t.sink.close();
  await postgres.stop();
  return result;
}

/** Many instances at Green API's pace, three targets each. */
async function loadScenario(load: NonNullable<ProofOptions['load']>): Promise<ScenarioResult> {
  const targets = await Promise.all(['a', 'b', 'c'].map((name) => target(name, () => ({ status: 200 }))));
  const relay = await startInProcess(targets, 'load');
  const started = Date.now();
  const sending = await playGreenApi(() => relay.url, load.instances, load.perSecond * load.seconds, load.perSecond);
  const result = await tally(
    `load: ${load.instances} instances × ${load.perSecond}/s for ${load.seconds} s, 3 targets`,
    started,
    sending,
    targets,
    600_000,
  );
  await relay.close(100);
  for (const t of targets) await t.sink.close();
  return result;
}

/** Every scenario in turn; `onResult` hears of each as it ends (a long run shows its progress). */
export async function runProof(
  options: ProofOptions,
  onResult: (result: ScenarioResult) => void = () => {},
): Promise<ScenarioResult[]> {
  const runs = [killScenario, storeScenario, sharedScenario, postgresScenario].map(
    (scenario) => () => scenario(options),
  );
  if (options.load) runs.push(() => loadScenario(options.load!));
  const results: ScenarioResult[] = [];
  for (const run of runs) {
    const result = await run();
    onResult(result);
    results.push(result);
  }
  return results;
}

export function proofTable(results: ScenarioResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.sent} | ${r.resent} | ${r.accepted} | ${Object.entries(r.delivered)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')} | ${r.duplicates} | **${r.lost}** | ${r.outOfOrder} | ${r.seconds.toFixed(1)} |`,
  );
  return [
    '| scenario | notifications | resent | accepted | delivered per target | duplicates | lost | out of order | seconds |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
