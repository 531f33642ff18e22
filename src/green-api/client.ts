// Calls of Green API's HTTP API for one instance: `{apiUrl}/waInstance{id}/{method}/{apiToken}`.
// The URL holds the apiToken, so errors name the method and the status, never the URL. Used by
// pull mode, reconciliation (journals, getSettings) and the media archive (downloadFile).
import { withDeadline } from '../deadline.ts';

export interface ApiCredentials {
  apiUrl: string;
  apiToken: string;
}

/** An answer other than 2xx; `retryable` for 429 and 5xx (Green API's rate limiter and its own trouble). */
export class GreenApiError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds from a Retry-After header, when there was one. */
  readonly retryAfter: number | null;
  constructor(method: string, status: number, retryAfter: number | null) {
    super(
      `${method} answered HTTP ${status}${status === 401 || status === 403 ? ' (check apiUrl and apiToken)' : status === 429 ? ' (rate limited)' : ''}`,
    );
    this.name = 'GreenApiError';
    this.status = status;
    this.retryable = status === 429 || status >= 500;
    this.retryAfter = retryAfter;
  }
}

export interface GreenApiClient {
  /** Calls `method`; resolves with the parsed JSON answer (null for an empty one). */
  call(
    verb: 'GET' | 'POST' | 'DELETE',
    method: string,
    options?: { rest?: string; body?: unknown; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<unknown>;
}

export function createGreenApiClient(
  instance: string,
  credentials: ApiCredentials,
  fetcher: typeof fetch,
): GreenApiClient {
  const base = `${credentials.apiUrl.replace(/\/+$/, '')}/waInstance${instance}`;
  return {
    async call(verb, method, { rest = '', body, timeoutMs = 30_000, signal } = {}) {
      const deadline = withDeadline(signal, timeoutMs);
      try {
        const response = await fetcher(`${base}/${method}/${credentials.apiToken}${rest}`, {
          method: verb,
          signal: deadline,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
        const text = await response.text();
        if (!response.ok) {
          const after = Number(response.headers.get('retry-after'));
          throw new GreenApiError(method, response.status, Number.isFinite(after) && after > 0 ? after : null);
        }
        return text.trim() === '' ? null : JSON.parse(text);
      } finally {
        deadline.clear();
      }
    },
  };
}
