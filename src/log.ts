// The logger port and the JSON-lines logger every runtime uses: one object per line, with a
// time, a level and an event name, so that logs can be grepped by eventId and shipped as they are.
// Callers never pass tokens, secrets or Authorization values; there is nothing here to leak them.

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** A Logger writing one JSON object per line to `write` (stdout on Node and Deno, console on Workers). */
export function createJsonLogger(write: (line: string) => void, now: () => number = Date.now): Logger {
  const log = (level: string) => (event: string, fields?: LogFields) =>
    write(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }));
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A short description of an error, for logs and attempt records. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}${cause}`;
  }
  return String(err);
}

/** Fields that identify log lines and never hold personal data. */
const SAFE_FIELDS = new Set([
  'time',
  'level',
  'event',
  'eventId',
  'quarantineId',
  'target',
  'type',
  'webhook',
  'instance',
  'nextAt',
  'outcome',
]);

/**
 * A Logger that masks phone numbers (any run of 7 or more digits keeps its first 3 and last 2)
 * and drops message text, for deployments where logs must not hold personal data (`logs.redact`).
 */
export function createRedactingLogger(logger: Logger): Logger {
  const redact = (fields?: LogFields): LogFields | undefined => {
    if (!fields) return fields;
    const out: LogFields = {};
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'text') out[key] = '[redacted]';
      else if (typeof value === 'string' && !SAFE_FIELDS.has(key)) out[key] = maskDigits(value);
      else out[key] = value;
    }
    return out;
  };
  return {
    info: (event, fields) => logger.info(event, redact(fields)),
    warn: (event, fields) => logger.warn(event, redact(fields)),
    error: (event, fields) => logger.error(event, redact(fields)),
  };
}

export function maskDigits(text: string): string {
  return text.replace(
    /\d{7,}/g,
    (digits) => `${digits.slice(0, 3)}${'*'.repeat(digits.length - 5)}${digits.slice(-2)}`,
  );
}
