// POST /webhook (contract §1): authenticate, read within the body limit, parse, normalize, store,
// and answer. Every row of the contract's answer table is one return below. Only the token check,
// a parse, normalization and one store write stand between Green API and its 200.
import { createTokenChecker, tokenFromHeader } from './auth.ts';
import type { RelayConfig } from './config.ts';
import { formatPath } from './config.ts';
import { createTargetMatcher } from './delivery/filter.ts';
import { buildEvent, eventTexts, type RelayEvent } from './event.ts';
import { Envelope } from './green-api/schema.ts';
import { webCryptoSha256, type Sha256 } from './hash.ts';
import { GREEN_API_SENDERS } from './green-api/senders.ts';
import { errorResponse, readBody } from './http.ts';
import { inAny, networks, parseIp } from './net/address.ts';
import { describeError, type Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { AppStore } from './store/store.ts';

export interface ReceiverDeps {
  config: RelayConfig;
  store: AppStore;
  logger: Logger;
  now: () => number;
  sha256?: Sha256;
  metrics?: Metrics;
  /** Called after an event is stored: wakes the dispatcher, feeds live views. */
  onAccepted?: (event: RelayEvent, targets: string[]) => void;
}

export type Parsed =
  | { ok: true; raw: Record<string, unknown>; envelope: Envelope }
  | { ok: false; reason: string; instance: string | null };

/** A notification that parsed but could not be normalized (say, nested too deep to serialize): quarantined, not a store failure. */
export class UnprocessableNotification extends Error {}

export interface Ingestor {
  /** Normalizes and stores a parsed notification; throws when the store fails. */
  ingest(parsed: Extract<Parsed, { ok: true }>, body: Uint8Array, receivedAt: number): Promise<{ status: 'accepted' | 'duplicate'; event: RelayEvent }>;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The notification in a body, or why it is not one (and the instance it names, if any). */
export function parseNotification(body: Uint8Array): Parsed {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { ok: false, reason: 'body is not UTF-8 text', instance: null };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // SyntaxError, or RangeError for nesting deeper than the parser's stack.
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}`, instance: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: 'body is not a JSON object', instance: null };
  }
  const result = Envelope.safeParse(raw);
  if (result.success) return { ok: true, raw: raw as Record<string, unknown>, envelope: result.data };

  const issue = result.error.issues[0]!;
  const idInstance = (raw as { instanceData?: { idInstance?: unknown } }).instanceData?.idInstance;
  const named = (typeof idInstance === 'number' && Number.isInteger(idInstance) && idInstance >= 0) || (typeof idInstance === 'string' && /^\d{1,20}$/.test(idInstance));
  return { ok: false, reason: `${formatPath(issue.path)} is missing or invalid: ${issue.message}`, instance: named ? String(idInstance) : null };
}

/** Normalize -> match targets -> store.ingest, shared by POST /webhook and quarantine release. */
export function createIngestor(deps: ReceiverDeps): Ingestor {
  const { config, store, logger, now, metrics } = deps;
  const sha256 = deps.sha256 ?? webCryptoSha256;
  const matchTargets = createTargetMatcher(config.targets);
  return {
    async ingest(parsed, body, receivedAt) {
      let event: RelayEvent;
      let texts: { attributes: string; data: string };
      try {
        event = await buildEvent(parsed.raw, parsed.envelope, new Date(receivedAt), sha256);
        texts = eventTexts(event);
      } catch (err) {
        throw new UnprocessableNotification(`the notification could not be normalized: ${describeError(err)}`);
      }
      const targets = matchTargets(event);
      const status = await store.ingest({
        id: event.id,
        instance: event.greenapiinstance,
        type: event.type,
        subject: event.subject ?? null,
        receivedAt,
        attributes: texts.attributes,
        data: texts.data,
        body,
        targets,
      });
      logger.info(status === 'accepted' ? 'notification.accepted' : 'notification.duplicate', {
        eventId: event.id,
        instance: event.greenapiinstance,
        type: event.type,
        webhook: event.greenapiwebhook,
        subject: event.subject,
        targets: targets.length,
        ms: now() - receivedAt,
      });
      if (status === 'accepted') {
        metrics?.received(event.type, event.greenapiinstance);
        deps.onAccepted?.(event, targets);
      } else {
        metrics?.duplicate(event.greenapiinstance);
      }
      return { status, event };
    },
  };
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
export function createReceiver(deps: ReceiverDeps, ingestor: Ingestor = createIngestor(deps)): (request: Request, caller: string | undefined) => Promise<Response> {
  const { config, store, logger, now, metrics } = deps;
  const checkToken = createTokenChecker(config.instances, deps.sha256 ?? webCryptoSha256);
  const maxBodyBytes = config.limits.maxBodyBytes;
  const allowed = createSenderCheck(config.receive.allowFrom);

  const unauthorized = (why: string, instance: string | null = null) => {
    logger.warn('notification.unauthorized', { why, instance });
    metrics?.rejected('unauthorized');
    return errorResponse('unauthorized', 'missing or wrong token for this instance', { 'www-authenticate': 'Bearer' });
  };
  const unavailable = (err: unknown) => {
    logger.error('store.unavailable', { error: describeError(err) });
    metrics?.rejected('unavailable');
    return errorResponse('unavailable', 'the relay cannot store notifications right now; retry later', { 'retry-after': '60' });
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

    /** Keeps a body that is not a notification; 200, so that Green API moves on (contract §1). */
    const quarantine = async (reason: string, instance: string | null) => {
      try {
        const id = await store.quarantine({ receivedAt, reason, instance, contentType: request.headers.get('content-type'), body });
        logger.warn('notification.quarantined', { quarantineId: id, reason, instance, bytes: body.byteLength });
        metrics?.quarantined();
        metrics?.answered(now() - receivedAt);
        return Response.json({ status: 'quarantined', reason, id });
      } catch (err) {
        return unavailable(err);
      }
    };

    const parsed = parseNotification(body);
    if (!parsed.ok) {
      if (parsed.instance !== null && !presented.isFor(parsed.instance)) {
        return unauthorized('token of another instance', parsed.instance);
      }
      return quarantine(parsed.reason, parsed.instance);
    }

    const instance = String(parsed.envelope.instanceData.idInstance);
    if (!presented.isFor(instance)) return unauthorized('token of another instance or instance not configured', instance);

    try {
      const { status, event } = await ingestor.ingest(parsed, body, receivedAt);
      metrics?.answered(now() - receivedAt);
      return Response.json({ status, id: event.id });
    } catch (err) {
      if (err instanceof UnprocessableNotification) return quarantine(err.message, instance);
      return unavailable(err);
    }
  };
}
