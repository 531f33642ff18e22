// Sends one delivery to its target and says what happened: status code, latency, an error a
// person can read, and any Retry-After. Never throws; every failure is an attempt result.
import type { TargetConfig } from '../config.ts';
import { describeError } from '../log.ts';
import type { ClaimedDelivery } from '../store/store.ts';
import { withArchivedLinks } from '../media/archived-data.ts';
import type { MediaLinks } from '../media/links.ts';
import type { HttpPost } from './http-post.ts';
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
  post: HttpPost;
  now: () => number;
  userAgent: string;
  /** Signs the links of archived files, for targets with `"media": "archived"` (media archive on). */
  mediaLinks?: MediaLinks;
}

export function createSender(target: TargetConfig, deps: SenderDeps): Sender {
  const signer = target.secrets.length > 0 ? createSigner(target.secrets) : undefined;
  return async (delivery, cancel) => {
    const startedAt = deps.now();
    const result = (
      statusCode: number | null,
      error: string | null,
      retryAfterMs: number | null = null,
    ): SendResult => ({
      startedAt,
      latencyMs: Math.max(0, deps.now() - startedAt),
      statusCode,
      error,
      retryAfterMs,
    });
    try {
      if (target.media === 'archived' && delivery.media && deps.mediaLinks)
        delivery = {
          ...delivery,
          data: await withArchivedLinks(delivery.data, delivery.eventId, delivery.media, deps.mediaLinks, startedAt),
        };
      const request = buildRequest(target, delivery, deps.userAgent);
      if (signer) await sign(request, delivery.eventId, signer, startedAt);
      const answer = await deps.post(target.url, { ...request, timeoutMs: target.timeoutMs, cancel });
      const { status } = answer;
      if (status >= 200 && status < 300) return result(status, null);
      const location = status >= 300 && status < 400 ? answer.header('location') : null;
      const detail = location
        ? ` (redirects are not followed: ${location})`
        : answer.snippet
          ? `: ${answer.snippet}`
          : '';
      return result(status, `HTTP ${status}${detail}`, parseRetryAfter(answer.header('retry-after'), deps.now()));
    } catch (err) {
      if (cancel?.aborted) return result(null, 'cancelled: the relay is stopping');
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      return result(null, timedOut ? `timed out after ${target.timeoutMs} ms` : describeError(err));
    }
  };
}
