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
