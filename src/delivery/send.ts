// Sends one delivery to its target and says what happened: status code, latency, an error a
// person can read, and any Retry-After. Never throws; every failure is an attempt result.
import type { TargetConfig } from '../config.ts';
import { describeError } from '../log.ts';
import type { ClaimedDelivery } from '../store/store.ts';
import { buildRequest, sign } from './request.ts';
import { parseRetryAfter } from './retry.ts';
import { createSigner } from './sign.ts';

export interface SendResult {
  startedAt: number;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
  retryAfterMs: number | null;
}

/** Sends one delivery; `cancel` aborts it early (the relay is stopping). */
export type Sender = (delivery: ClaimedDelivery, cancel?: AbortSignal) => Promise<SendResult>;

export interface SenderDeps {
  fetch: typeof fetch;
  now: () => number;
  userAgent: string;
}

/** How much of a failing target's answer is kept in the attempt record. */
const ERROR_SNIPPET_CHARS = 200;

export function createSender(target: TargetConfig, deps: SenderDeps): Sender {
  const signer = target.secret ? createSigner(target.secret) : undefined;
  return async (delivery, cancel) => {
    const startedAt = deps.now();
    const result = (statusCode: number | null, error: string | null, retryAfterMs: number | null = null): SendResult => ({
      startedAt,
      latencyMs: Math.max(0, deps.now() - startedAt),
      statusCode,
      error,
      retryAfterMs,
    });
    try {
      const request = buildRequest(target, delivery, deps.userAgent);
      if (signer) await sign(request, delivery.eventId, signer, startedAt);
      const response = await deps.fetch(target.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body as Uint8Array<ArrayBuffer>,
        // A target's redirect is not followed: it could point the relay anywhere.
        redirect: 'manual',
        signal: cancel ? AbortSignal.any([cancel, AbortSignal.timeout(target.timeoutMs)]) : AbortSignal.timeout(target.timeoutMs),
      });
      const snippet = await readSnippet(response);
      if (response.status >= 200 && response.status < 300) return result(response.status, null);
      const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
      const detail = location ? ` (redirects are not followed: ${location})` : snippet ? `: ${snippet}` : '';
      return result(response.status, `HTTP ${response.status}${detail}`, parseRetryAfter(response.headers.get('retry-after'), deps.now()));
    } catch (err) {
      if (cancel?.aborted) return result(null, 'cancelled: the relay is stopping');
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return result(null, timedOut ? `timed out after ${target.timeoutMs} ms` : describeError(err));
    }
  };
}

/** The start of the answer's body, read so the connection can be reused; the rest is discarded. */
async function readSnippet(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < ERROR_SNIPPET_CHARS) {
      const { done, value } = await reader.read();
      if (done) return text.trim();
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  return text.slice(0, ERROR_SNIPPET_CHARS).trim();
}
