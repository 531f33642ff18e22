// The relay's configuration on Workers: the same JSON as on Node, in the RELAY_CONFIG variable,
// with ${NAME} taken from the Worker's variables and secrets. Parsed once per isolate.
import { ConfigError, validateConfig, type RelayConfig } from '../../config.ts';
import { createJsonLogger, createRedactingLogger, type Logger } from '../../log.ts';
import type { EventIndex } from './event-index.ts';
import type { InstanceStore } from './instance-store.ts';

export interface Env {
  RELAY_CONFIG?: string;
  RELAY_ADMIN_TOKEN?: string;
  /** The media archive's signing key (or media.signingKey). */
  RELAY_MEDIA_KEY?: string;
  INSTANCES: DurableObjectNamespace<InstanceStore>;
  /** The event index's object (event-index.ts). */
  INDEX: DurableObjectNamespace<EventIndex>;
  /** How long instance objects gather changes before feeding the index ("0s", the default: at once). */
  RELAY_INDEX_FEED_DELAY?: string;
  /** The media archive's bucket (wrangler.toml r2_buckets), when media.archive is on. */
  MEDIA?: R2Bucket;
  [binding: string]: unknown;
}

let parsed: { source: string; config: RelayConfig } | undefined;

/** The config of this isolate; throws ConfigError (or an Error saying RELAY_CONFIG is missing). */
export function configOf(env: Env): RelayConfig {
  const source = env.RELAY_CONFIG ?? '';
  if (parsed?.source !== source) {
    const strings = Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    let json: unknown;
    try {
      json = JSON.parse(source);
    } catch {
      throw new Error('RELAY_CONFIG is not set to the relay configuration (JSON); see README.md, "Cloudflare Workers"');
    }
    const config = validateConfig(json, strings, 'RELAY_CONFIG');
    if (config.media) {
      const signingKey = config.media.signingKey ?? env.RELAY_MEDIA_KEY;
      const missing = [
        ...(env.MEDIA ? [] : ['media.archive: needs an R2 bucket bound as MEDIA (wrangler.toml, see README)']),
        ...(signingKey
          ? []
          : ['media.signingKey: set it, or the RELAY_MEDIA_KEY secret (`wrangler secret put RELAY_MEDIA_KEY`)']),
      ];
      if (missing.length > 0) throw new ConfigError('RELAY_CONFIG', missing);
      config.media = { ...config.media, signingKey };
    }
    parsed = { source, config };
  }
  return parsed.config;
}

/** JSON lines to the Worker's log (`wrangler tail`), redacted with logs.redact. */
export function loggerFor(config: RelayConfig): Logger {
  const logger = createJsonLogger((line) => console.log(line));
  return config.logs.redact ? createRedactingLogger(logger) : logger;
}
