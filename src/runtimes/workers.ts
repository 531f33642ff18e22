// The relay on Cloudflare Workers (`wrangler deploy`). The Worker serves the same Hono app; each
// Green API instance gets a SQLite-backed Durable Object that owns its events and deliveries
// (the same SQL store as Node, over ctx.storage.sql), reached by RPC. The answer to Green API waits
// only for that object's write. Its alarm is the dispatcher: alarms are durable and retried, where
// waitUntil is neither.
import { DurableObject } from 'cloudflare:workers';
import { createRelay } from '../app.ts';
import { ConfigError, validateConfig, type RelayConfig } from '../config.ts';
import { dispatchPass } from '../delivery/dispatch-pass.ts';
import { fetchPost } from '../delivery/http-post.ts';
import { errorResponse } from '../http.ts';
import { createJsonLogger, createRedactingLogger, type Logger } from '../log.ts';
import { createSqlStore } from '../store/sql-store.ts';
import type { EventQuery, NewEvent, QuarantinedBody, Store } from '../store/store.ts';
import { VERSION } from '../version.ts';
import { durableObjectSqlDriver } from './durable-object-sql-driver.ts';
import { createDurableObjectStore } from './workers-store.ts';

interface Env {
  RELAY_CONFIG?: string;
  INSTANCES: DurableObjectNamespace<InstanceStore>;
  [binding: string]: unknown;
}

/** Workers allow 6 simultaneous outgoing connections per invocation. */
const MAX_IN_FLIGHT = 6;
/** An alarm pass stops claiming after this long and re-arms at once for the rest. */
const PASS_BUDGET_MS = 20_000;

/** The config, parsed once per isolate; ${NAME} comes from the Worker's variables and secrets. */
let parsed: { source: string; config: RelayConfig } | undefined;
function configOf(env: Env): RelayConfig {
  const source = env.RELAY_CONFIG ?? '';
  if (parsed?.source !== source) {
    const strings = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    let json: unknown;
    try {
      json = JSON.parse(source);
    } catch {
      throw new Error('RELAY_CONFIG is not set to the relay configuration (JSON); see README.md, "Cloudflare Workers"');
    }
    parsed = { source, config: validateConfig(json, strings, 'RELAY_CONFIG') };
  }
  return parsed.config;
}

function loggerFor(config: RelayConfig): Logger {
  const logger = createJsonLogger((line) => console.log(line));
  return config.logs.redact ? createRedactingLogger(logger) : logger;
}

/** One Green API instance: its store, and the alarm that delivers its events. */
export class InstanceStore extends DurableObject<Env> {
  private readonly store: Store;
  private readonly config: RelayConfig;
  private readonly logger: Logger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    this.logger = loggerFor(this.config);
    this.store = createSqlStore(durableObjectSqlDriver(ctx.storage), { dedupWindowMs: this.config.dedupWindowMs, retentionMs: this.config.retentionMs });
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS seen_instances (id TEXT PRIMARY KEY)');
    // A new object has nothing in flight: deliveries leased by one that was evicted are due now.
    ctx.blockConcurrencyWhile(async () => {
      if ((await this.store.releaseClaims(Date.now())) > 0) await this.armAt(Date.now());
    });
  }

  /** Sets the alarm for `at` unless one is set earlier. */
  private async armAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  async ingest(event: NewEvent): Promise<'accepted' | 'duplicate'> {
    const status = await this.store.ingest(event);
    if (status === 'accepted' && event.targets.length > 0) await this.armAt(Date.now());
    return status;
  }
  quarantine(body: QuarantinedBody) {
    return this.store.quarantine(body);
  }
  ping() {
    return this.store.ping();
  }
  listEvents(query: EventQuery) {
    return this.store.listEvents(query);
  }
  getEvent(id: string) {
    return this.store.getEvent(id);
  }
  async replay(eventId: string, targets: string[], now: number) {
    const replayed = await this.store.replay(eventId, targets, now);
    if (replayed > 0) await this.armAt(now);
    return replayed;
  }
  async replayDead(target: string, now: number) {
    const replayed = await this.store.replayDead(target, now);
    if (replayed > 0) await this.armAt(now);
    return replayed;
  }
  listQuarantine(limit: number, cursor?: string) {
    return this.store.listQuarantine(limit, cursor);
  }
  getQuarantined(id: string) {
    return this.store.getQuarantined(id);
  }
  markReleased(id: string, eventId: string) {
    return this.store.markReleased(id, eventId);
  }
  targetStats(since: number) {
    return this.store.targetStats(since);
  }
  /** The registry object's list of instances seen through "*". */
  instances(): string[] {
    return this.ctx.storage.sql.exec<{ id: string }>('SELECT id FROM seen_instances').toArray().map((row) => row.id);
  }
  noteInstance(id: string): void {
    this.ctx.storage.sql.exec('INSERT OR IGNORE INTO seen_instances (id) VALUES (?)', id);
  }

  /** The dispatcher: one pass over due deliveries, then the alarm for the next one. */
  override async alarm(): Promise<void> {
    const next = await dispatchPass({
      store: this.store,
      targets: this.config.targets,
      // Looked up at call time, so that tests can watch the Worker's outbound requests.
      post: fetchPost((input, init) => fetch(input, init)),
      logger: this.logger,
      now: Date.now,
      userAgent: `green-relay/${VERSION}`,
      maxInFlight: MAX_IN_FLIGHT,
      budgetMs: PASS_BUDGET_MS,
    });
    await this.store.prune(Date.now());
    if (next !== null) await this.armAt(Math.max(next, Date.now()));
  }
}

/** The app, built once per isolate and config. */
let relay: { config: RelayConfig; app: ReturnType<typeof createRelay>['app'] } | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    let config: RelayConfig;
    try {
      config = configOf(env);
    } catch (err) {
      // The same message as a refused start on Node, in the Worker's log and in the answer.
      console.error(err instanceof Error ? err.message : String(err));
      return errorResponse('internal', err instanceof ConfigError ? err.message : 'the relay configuration could not be read');
    }
    if (relay?.config !== config) {
      const configured = Object.keys(config.instances).filter((id) => id !== '*');
      // The Worker keeps no file to generate an admin token into: the configured one, or the
      // RELAY_ADMIN_TOKEN secret, or the admin surface stays closed.
      const adminToken = config.admin.token ?? (typeof env.RELAY_ADMIN_TOKEN === 'string' && env.RELAY_ADMIN_TOKEN !== '' ? env.RELAY_ADMIN_TOKEN : undefined);
      relay = {
        config,
        app: createRelay({
          config: { ...config, admin: { token: adminToken } },
          store: createDurableObjectStore(env.INSTANCES, configured),
          logger: loggerFor(config),
          // Cloudflare's edge sets it to the address that connected to it.
          peerAddress: (c) => c.req.header('cf-connecting-ip'),
          adminClosedReason: 'no admin token is configured: run `wrangler secret put RELAY_ADMIN_TOKEN` (or set admin.token in RELAY_CONFIG)',
        }).app,
      };
    }
    return relay.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
