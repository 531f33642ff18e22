// The relay's configuration: the JSON schema users write against, ${NAME} interpolation, and
// parseConfig, which turns a JSON text into a validated RelayConfig or throws a ConfigError
// whose every line names the path at fault (contract §5).
import * as z from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { compileWhere } from './delivery/where.ts';
import { parseNetwork } from './net/address.ts';

/** The exit code of a start refused for its configuration, and of check-config on a bad file: EX_CONFIG. */
export const CONFIG_EXIT_CODE = 78;

export const TARGET_FORMATS = ['cloudevents', 'cloudevents-binary', 'raw', 'slack'] as const;
export type TargetFormat = (typeof TARGET_FORMATS)[number];

export const DEFAULT_RETRY = ['5s', '5m', '30m', '2h', '5h', '10h', '10h'];

/** Headers the relay sets itself; a target's `headers` may not name them. */
const RESERVED_HEADER = /^(content-type|content-length|host|user-agent|webhook-.*|ce-.*)$/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const duration = z.string().regex(DURATION_PATTERN, 'must be a duration such as "500ms", "5s", "30m", "2h" or "7d"');

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http:// or https:// URL');

const instanceId = z.string().regex(/^(\d{1,20}|\*)$/, 'must be a Green API idInstance (digits) or "*"');

const secret = z
  .string()
  .regex(
    /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/,
    'must be "whsec_" followed by at least 16 bytes in base64 (for example: echo "whsec_$(openssl rand -base64 32)")',
  );

/** "20/s", "600/m": at most that many deliveries started per second or minute. */
const RATE_LIMIT = /^([1-9]\d{0,5})\/(s|m)$/;

const CircuitSchema = z.strictObject({
  afterFailures: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(10)
    .describe('Consecutive failed attempts that open the circuit.'),
  probeEvery: duration
    .default('1m')
    .describe(
      'How often one held delivery is tried while the circuit is open; doubles after each failed probe, up to 10 times this.',
    ),
  holdFor: duration
    .default('7d')
    .describe('Held longer than this, deliveries are dead (a target that never returns cannot fill the disk).'),
});

const headerValue = z.string().refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks or NUL');

const headers = z.record(z.string(), headerValue).superRefine((record, ctx) => {
  for (const name of Object.keys(record)) {
    if (!HEADER_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid HTTP header name' });
    } else if (RESERVED_HEADER.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'is set by the relay and cannot be configured' });
    }
  }
});

const typePattern = z
  .string()
  .regex(
    /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/,
    'must be an event type such as "com.green-api.message.received" or a prefix wildcard such as "com.green-api.message.*"',
  );

const network = z
  .string()
  .refine(
    (value) => parseNetwork(value) !== null,
    'must be an IP address or a CIDR network such as "203.0.113.0/24" or "2001:db8::/32"',
  );

const ReceiveSchema = z.strictObject({
  allowFrom: z
    .array(z.union([z.literal('green-api'), network]))
    .min(1, 'must list at least one sender (or leave allowFrom out to accept any)')
    .optional()
    .describe(
      'Only these senders may POST /webhook: "green-api" (Green API\'s published addresses) and CIDR networks. Absent: any sender with the token.',
    ),
  trustedProxies: z
    .array(network)
    .default([])
    .describe(
      'Proxies in front of the relay whose X-Forwarded-For (or Forwarded) names the caller; the rightmost hop that is not one of them is the caller.',
    ),
});

const PullSchema = z.strictObject({
  apiUrl: httpUrl.describe("The instance's apiUrl, e.g. https://1101.api.green-api.com"),
  apiToken: z.string().min(1, 'must not be empty').describe("The instance's apiTokenInstance."),
  receiveTimeout: z
    .number()
    .int()
    .min(5)
    .max(60)
    .default(20)
    .describe('Seconds a receiveNotification long poll may wait (5-60).'),
});

const ApiSchema = z.strictObject({
  apiUrl: httpUrl.describe("The instance's apiUrl, e.g. https://1101.api.green-api.com"),
  apiToken: z.string().min(1, 'must not be empty').describe("The instance's apiTokenInstance."),
});

const InstanceSchema = z
  .strictObject({
    token: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe("The instance's webhookUrlToken (pushed instances)."),
    pull: PullSchema.optional().describe(
      'Take notifications with receiveNotification/deleteNotification instead of POST /webhook.',
    ),
    api: ApiSchema.optional().describe(
      "A pushed instance's API credentials, for reconciliation from the journals and for media (pulled instances have them in pull).",
    ),
  })
  .superRefine((instance, ctx) => {
    if (instance.pull && instance.api)
      ctx.addIssue({
        code: 'custom',
        path: ['api'],
        message: 'a pulled instance already has its API credentials in pull',
      });
    if (instance.pull && instance.token !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'a pulled instance takes no token: its notifications never come through POST /webhook',
      });
    if (!instance.pull && instance.token === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'is required (or "pull" for an instance without a public URL)',
      });
  });

const TargetSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-" or "."')
    .describe('Unique name, used in logs, metrics and the admin API.'),
  url: httpUrl.describe('Where events are POSTed.'),
  format: z
    .enum(TARGET_FORMATS)
    .default('cloudevents')
    .describe(
      'cloudevents (structured), cloudevents-binary (data + ce-* headers), raw (the bytes Green API sent) or slack ({"text": one line}, for chat tools).',
    ),
  types: z.array(typePattern).optional().describe('Event types to deliver; exact or "prefix.*". Absent: all.'),
  instances: z
    .array(z.string().regex(/^\d{1,20}$/, 'must be a Green API idInstance (digits)'))
    .optional()
    .describe('idInstance values to deliver. Absent: all.'),
  chats: z.array(z.string().min(1)).optional().describe('Chat ids (the event subject) to deliver. Absent: all.'),
  headers: headers.default({}).describe('Extra request headers, e.g. Authorization for the target.'),
  secret: z
    .union([secret, z.array(secret).min(1).max(5)])
    .optional()
    .describe(
      'Standard Webhooks signing secret (whsec_...), or a list while rotating: each delivery carries one signature per secret.',
    ),
  timeoutMs: z.number().int().min(100).max(180_000).default(10_000).describe('Per-attempt timeout.'),
  retry: z
    .array(duration)
    .max(50)
    .default(DEFAULT_RETRY)
    .describe('Delays between attempts; its length is the number of retries.'),
  concurrency: z.number().int().min(1).max(256).default(10).describe('Deliveries in flight to this target at once.'),
  ordering: z
    .enum(['none', 'per-chat'])
    .default('none')
    .describe('per-chat: the events of one chat reach this target one at a time, in the order Green API sent them.'),
  circuit: z
    .union([z.literal(false), CircuitSchema])
    .default({ afterFailures: 10, probeEvery: '1m', holdFor: '7d' })
    .describe("Hold this target's deliveries while it keeps failing, and probe it (false: never hold)."),
  rateLimit: z
    .string()
    .regex(RATE_LIMIT, 'must be starts per second or minute, such as "20/s" or "600/m"')
    .optional()
    .describe('At most this many deliveries started per second or per minute, evenly spaced.'),
  media: z
    .enum(['original', 'archived'])
    .default('original')
    .describe(
      'archived: wait for the media archive to settle and get data.message.media.archivedUrl beside the original url (needs media.archive).',
    ),
  where: z
    .record(z.string(), z.unknown())
    .optional()
    .superRefine((where, ctx) => {
      for (const issue of compileWhere(where).issues)
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    })
    .describe('Deliver only events whose fields match (see README: "Content filters").'),
});

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    instances: z
      .record(instanceId, InstanceSchema)
      .describe(
        'Green API instances, by idInstance: pushed ones with their webhookUrlToken, pulled ones with their API credentials. "*" admits every instance without an entry of its own.',
      ),
    targets: z.array(TargetSchema).default([]),
    admin: z
      .strictObject({
        token: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Bearer token of the admin API, /metrics and the inspector. Absent: generated at the first start and kept in RELAY_DATA_DIR/admin-token (Workers: RELAY_ADMIN_TOKEN, or the admin surface stays closed).',
          ),
      })
      .default({}),
    receive: ReceiveSchema.default({ trustedProxies: [] }).describe(
      'Who may POST /webhook, and which proxies to believe about the caller.',
    ),
    logs: z
      .strictObject({
        redact: z.boolean().default(false).describe('Mask phone numbers and message text in log lines.'),
      })
      .default({ redact: false }),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1_048_576),
      })
      .default({ maxBodyBytes: 1_048_576 }),
    alerts: z
      .strictObject({
        groupEvery: duration
          .default('5m')
          .describe(
            'Dead deliveries and quarantined bodies are told once per this interval, counted, not one alert each.',
          ),
      })
      .default({ groupEvery: '5m' })
      .describe("The relay's own events (com.green-relay.*): targets take them by naming their types."),
    reconcile: z
      .union([
        z.literal(false),
        z.strictObject({
          every: duration.default('10m').describe('How often each instance with API credentials is reconciled.'),
          overlap: duration
            .default('5m')
            .describe(
              'How far before the last pass a pass reads again (journal entries may appear up to 2 minutes late).',
            ),
          grace: duration
            .default('1m')
            .describe('Entries younger than this are left for the next pass: their webhook may still be on its way.'),
        }),
      ])
      .default({ every: '10m', overlap: '5m', grace: '1m' })
      .describe(
        "Recover messages whose webhook never came from Green API's journals (instances with API credentials); false: never.",
      ),
    media: z
      .strictObject({
        archive: z
          .boolean()
          .default(false)
          .describe("Fetch each message's file after the answer and keep it with the event."),
        publicUrl: httpUrl
          .optional()
          .describe(
            "The relay's own address as targets reach it, for the archived files' signed links (required with archive).",
          ),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .max(2 * 1024 * 1024 * 1024)
          .default(100 * 1024 * 1024)
          .describe('Files larger than this are not archived (the reason is recorded).'),
        hosts: z
          .array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name'))
          .optional()
          .describe('Only fetch from these hosts (and their subdomains). Absent: any public host.'),
        privateNetworks: z
          .union([z.boolean(), z.array(network)])
          .default(false)
          .describe('Also fetch from private, loopback and link-local addresses: true, or only these networks.'),
        linkTtl: duration.default('7d').describe('How long a signed link handed to a target works.'),
        signingKey: z
          .string()
          .min(32, 'must be at least 32 characters')
          .optional()
          .describe(
            'HMAC key of the signed links. Absent: generated into RELAY_DATA_DIR/media-key (Workers: RELAY_MEDIA_KEY).',
          ),
        retry: z
          .array(duration)
          .max(20)
          .default(['10s', '1m', '10m', '1h', '6h'])
          .describe('Delays between tries of a file.'),
      })
      .default({
        archive: false,
        maxBytes: 100 * 1024 * 1024,
        privateNetworks: false,
        linkTtl: '7d',
        retry: ['10s', '1m', '10m', '1h', '6h'],
      })
      .describe("The media archive: files kept beyond their links' lives, served at signed links of the relay's own."),
    dedupWindow: duration.default('48h').describe('How long an event id is remembered to answer duplicates.'),
    retention: duration
      .default('7d')
      .describe('How long delivered events are kept (never less than dedupWindow). Dead ones are kept until replayed.'),
  })
  .superRefine((config, ctx) => {
    for (const key of ['pull', 'api'] as const)
      if (config.instances['*']?.[key])
        ctx.addIssue({
          code: 'custom',
          path: ['instances', '*', key],
          message: key === 'pull' ? 'only a named instance can be pulled' : 'only a named instance has API credentials',
        });
    if (config.media.archive && !config.media.publicUrl)
      ctx.addIssue({
        code: 'custom',
        path: ['media', 'publicUrl'],
        message: 'is required with media.archive: targets get links to the archived files there',
      });
    const seen = new Set<string>();
    config.targets.forEach((target, i) => {
      if (target.media === 'archived' && !config.media.archive)
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'media'],
          message: '"archived" needs "media": { "archive": true }',
        });
      if (seen.has(target.name))
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'name'],
          message: `"${target.name}" is used by another target`,
        });
      seen.add(target.name);
    });
  });

export type ConfigInput = z.input<typeof ConfigSchema>;

export interface TargetConfig {
  name: string;
  url: string;
  format: TargetFormat;
  types?: string[];
  instances?: string[];
  chats?: string[];
  headers: Record<string, string>;
  /** Standard Webhooks secrets; one signature each (rotation). Empty: unsigned. */
  secrets: string[];
  timeoutMs: number;
  /** Delay before retry n+1, in ms; `retryMs.length` retries in all. */
  retryMs: number[];
  concurrency: number;
  /** `per-chat`: one delivery at a time per chat, in order; a dead one no longer holds its chat. */
  ordering: 'none' | 'per-chat';
  /** Null: the target is never held. */
  circuit: { afterFailures: number; probeEveryMs: number; holdForMs: number } | null;
  /** At most `starts` starts per `perMs`, evenly spaced. */
  rateLimit: { starts: number; perMs: number } | null;
  /** The content filter as written (compiled by delivery/filter.ts). */
  where?: Record<string, unknown>;
  /** `archived`: waits for the media archive and gets the archived files' links. Absent: original. */
  media?: 'original' | 'archived';
}

/** A pushed instance has a token; a pulled one has its API credentials and no token. */
export interface InstanceConfig {
  token?: string;
  pull?: { apiUrl: string; apiToken: string; receiveTimeout: number };
  api?: { apiUrl: string; apiToken: string };
}

export interface RelayConfig {
  instances: Record<string, InstanceConfig>;
  targets: TargetConfig[];
  admin: { token?: string };
  receive: { allowFrom?: string[]; trustedProxies: string[] };
  logs: { redact: boolean };
  limits: { maxBodyBytes: number };
  alerts: { groupEveryMs: number };
  /** null: off (configured so, or no instance has API credentials). */
  reconcile: { everyMs: number; overlapMs: number; graceMs: number } | null;
  /** null: the media archive is off. */
  media: MediaConfig | null;
  dedupWindowMs: number;
  retentionMs: number;
}

export interface MediaConfig {
  publicUrl: string;
  maxBytes: number;
  hosts: string[] | null;
  /** Which non-public networks may be fetched from: none, all, or these. */
  privateNetworks: boolean | string[];
  linkTtlMs: number;
  signingKey?: string;
  retryMs: number[];
}

/** A config that cannot be used; `issues` holds one "path: problem" line each. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`Invalid configuration (${source}):\n${issues.map((issue) => `  ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Parses and validates a config JSON text. `${NAME}` in any string is replaced by `env.NAME`
 * (`$${` stays a literal `${`). Throws ConfigError naming every path at fault.
 */
export function parseConfig(text: string, env: Env, source = 'config'): RelayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(source, [`(file): not valid JSON: ${(err as Error).message}`]);
  }
  return validateConfig(json, env, source);
}

/** Like parseConfig, for a config that is already a JSON value. */
export function validateConfig(json: unknown, env: Env, source = 'config'): RelayConfig {
  const missing = new Map<string, string>();
  const interpolated = interpolate(json, env, [], missing);
  const result = ConfigSchema.safeParse(interpolated);
  // Report every problem at once; a path whose variable is missing says only that.
  const issues = [...missing].map(([path, problem]) => `${path}: ${problem}`);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = formatPath(issue.path);
      if (!missing.has(path)) issues.push(`${path}: ${issueMessage(issue)}`);
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(source, issues);
  const config = result.data;
  const dedupWindowMs = parseDuration(config.dedupWindow)!;
  return {
    instances: config.instances,
    targets: config.targets.map(({ retry, secret, circuit, rateLimit, ...target }) => ({
      ...target,
      retryMs: retry.map((d) => parseDuration(d)!),
      secrets: secret === undefined ? [] : typeof secret === 'string' ? [secret] : secret,
      circuit:
        circuit === false
          ? null
          : {
              afterFailures: circuit.afterFailures,
              probeEveryMs: parseDuration(circuit.probeEvery)!,
              holdForMs: parseDuration(circuit.holdFor)!,
            },
      rateLimit: rateLimit ? parseRateLimit(rateLimit) : null,
    })),
    admin: config.admin,
    receive: config.receive,
    logs: config.logs,
    limits: config.limits,
    alerts: { groupEveryMs: parseDuration(config.alerts.groupEvery)! },
    reconcile:
      config.reconcile === false || Object.values(config.instances).every((i) => !i.pull && !i.api)
        ? null
        : {
            everyMs: parseDuration(config.reconcile.every)!,
            overlapMs: parseDuration(config.reconcile.overlap)!,
            graceMs: parseDuration(config.reconcile.grace)!,
          },
    media: config.media.archive
      ? {
          publicUrl: config.media.publicUrl!.replace(/\/+$/, ''),
          maxBytes: config.media.maxBytes,
          hosts: config.media.hosts ?? null,
          privateNetworks: config.media.privateNetworks,
          linkTtlMs: parseDuration(config.media.linkTtl)!,
          signingKey: config.media.signingKey,
          retryMs: config.media.retry.map((d) => parseDuration(d)!),
        }
      : null,
    dedupWindowMs,
    retentionMs: Math.max(parseDuration(config.retention)!, dedupWindowMs),
  };
}

/** zod reports a bad record key as "Invalid key in record"; the key's own issue says why. */
function issueMessage(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
}

function parseRateLimit(text: string): { starts: number; perMs: number } {
  const [, starts, unit] = RATE_LIMIT.exec(text)!;
  return { starts: Number(starts), perMs: unit === 's' ? 1_000 : 60_000 };
}

/** `targets[1].url`, `instances.1101000001.token`, `targets[0].where["data.message.kind"]`: the path style every error uses. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((key, i) =>
      typeof key === 'number'
        ? `[${key}]`
        : String(key).includes('.')
          ? `[${JSON.stringify(String(key))}]`
          : i === 0
            ? String(key)
            : `.${String(key)}`,
    )
    .join('');
}

function interpolate(value: unknown, env: Env, path: PropertyKey[], missing: Map<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      const resolved = env[name];
      if (resolved === undefined) {
        missing.set(formatPath(path), `environment variable ${name} is not set`);
        return '';
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, [...path, i], missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, [...path, key], missing)]),
    );
  }
  return value;
}

/** An instance's Green API credentials, when it has them (a pulled one always does). */
export function apiCredentials(instance: InstanceConfig): { apiUrl: string; apiToken: string } | null {
  const from = instance.pull ?? instance.api;
  return from ? { apiUrl: from.apiUrl, apiToken: from.apiToken } : null;
}
