// POST /webhook (contract §1): the sender allow-list, the token, the body limit, then the one
// ingest path (ingest.ts), and the answer. Every row of the contract's answer table is one return
// below. Only the checks, a parse, normalization and one store write stand between Green API and
// its 200.
import { createTokenChecker, tokenFromHeader } from './auth.ts';
import type { RelayConfig } from './config.ts';
import { GREEN_API_SENDERS } from './green-api/senders.ts';
import type { Sha256 } from './hash.ts';
import { errorResponse, readBody } from './http.ts';
import { parseNotification, type Ingest } from './ingest.ts';
import { describeError, type Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { inAny, networks, parseIp } from './net/address.ts';

export interface ReceiverDeps {
  config: RelayConfig;
  ingest: Ingest;
  logger: Logger;
  now: () => number;
  sha256: Sha256;
  metrics?: Metrics;
}

/** The sender allow-list (contract §1): true when any sender may post, or `caller` is listed. */
function createSenderCheck(allowFrom: readonly string[] | undefined): (caller: string | undefined) => boolean {
  if (!allowFrom) return () => true;
  const allowed = networks(allowFrom.flatMap((entry) => (entry === 'green-api' ? GREEN_API_SENDERS : [entry])));
  return (caller) => {
    const ip = caller === undefined ? null : parseIp(caller);
    return ip !== null && inAny(ip, allowed);
  };
}

/** POST /webhook; `caller` is the address the request comes from (app.ts reads it behind trusted proxies). */
export function createReceiver(
  deps: ReceiverDeps,
): (request: Request, caller: string | undefined) => Promise<Response> {
  const { config, logger, now, metrics } = deps;
  const checkToken = createTokenChecker(config.instances, deps.sha256);
  const maxBodyBytes = config.limits.maxBodyBytes;
  const allowed = createSenderCheck(config.receive.allowFrom);

  const unauthorized = (why: string, instance: string | null = null) => {
    logger.warn('notification.unauthorized', { why, instance });
    metrics?.rejected('unauthorized');
    return errorResponse('unauthorized', 'missing or wrong token for this instance', { 'www-authenticate': 'Bearer' });
  };

  return async (request, caller) => {
    const receivedAt = now();
    // Before the token: a sender that is not listed learns nothing, not even whether a token is right.
    if (!allowed(caller)) {
      logger.warn('notification.forbidden', { caller: caller ?? null });
      metrics?.rejected('forbidden');
      return errorResponse('forbidden', 'this sender may not post notifications here (receive.allowFrom)');
    }
    const token = tokenFromHeader(request.headers.get('authorization'));
    if (!token) return unauthorized('no token');
    const presented = await checkToken(token);
    // Checked before the body is read, so that a caller without a token cannot make the relay read megabytes.
    if (!presented.known) return unauthorized('token of no configured instance');

    const body = await readBody(request, maxBodyBytes);
    if (!body) {
      logger.warn('notification.too_large', { limit: maxBodyBytes });
      metrics?.rejected('too_large');
      return errorResponse('payload_too_large', `the body is larger than limits.maxBodyBytes (${maxBodyBytes} bytes)`);
    }

    // A body that names an instance must carry that instance's token, even on its way to quarantine.
    const parsed = parseNotification(body);
    if (parsed.instance !== null && !presented.isFor(parsed.instance)) {
      return unauthorized(
        parsed.ok ? 'token of another instance or instance not configured' : 'token of another instance',
        parsed.instance,
      );
    }

    try {
      const result = await deps.ingest({
        body,
        parsed,
        receivedAt,
        contentType: request.headers.get('content-type'),
        via: 'webhook',
      });
      metrics?.answered(now() - receivedAt);
      // 200 for quarantine too: Green API would otherwise resend it every minute and hold back the rest (contract §1).
      if (result.status === 'quarantined')
        return Response.json({ status: 'quarantined', reason: result.reason, id: result.id });
      if (result.status === 'refused') throw new Error('POST /webhook never refuses a body');
      return Response.json({ status: result.status, id: result.event.id });
    } catch (err) {
      logger.error('store.unavailable', { error: describeError(err) });
      metrics?.rejected('unavailable');
      return errorResponse('unavailable', 'the relay cannot store notifications right now; retry later', {
        'retry-after': '60',
      });
    }
  };
}
