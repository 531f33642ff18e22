// The one way in: every notification, whichever way it arrived (POST /webhook, pull mode, an
// operator's quarantine release, reconciliation from the journals), is parsed, normalized, matched
// to its targets and stored here, or kept in quarantine when it is not a notification. What
// happened comes back as a value; only a store that cannot write throws (the caller answers 503,
// or tries again later).
import type { RelayConfig } from './config.ts';
import { formatPath } from './config.ts';
import { createTargetMatcher } from './delivery/filter.ts';
import { preview } from './event-preview.ts';
import { buildEvent, eventTexts, type RelayEvent } from './event.ts';
import { NotificationHeader } from './green-api/schema.ts';
import type { Alerter } from './alerts.ts';
import type { Sha256 } from './hash.ts';
import { describeError, type Logger } from './log.ts';
import { mediaJobs } from './media/jobs.ts';
import type { Metrics } from './metrics.ts';
import type { AppStore } from './store/store.ts';

/** A body read as a notification, or why it is not one (and the instance it names, if any). */
export type ParsedNotification =
  | { ok: true; raw: Record<string, unknown>; header: NotificationHeader; instance: string }
  | { ok: false; reason: string; instance: string | null };

/** Where a notification came from; logged with it. */
export type Arrival = 'webhook' | 'pull' | 'release' | 'journal';

export interface IngestInput {
  body: Uint8Array;
  /** The body already parsed, when the caller had to look at it first (POST /webhook checks its instance). */
  parsed?: ParsedNotification;
  receivedAt: number;
  contentType: string | null;
  via: Arrival;
  /** The instance a body that names none belongs to, when the caller knows it (a pulled instance). */
  instance?: string;
  /** `refuse`: a body that is not a notification is refused, not kept (an operator's release: they see why at once). */
  invalid?: 'quarantine' | 'refuse';
  /** The journal entry a rebuilt notification came from (reconciliation): kept as `data.raw`, the event marked recovered. */
  recovered?: unknown;
}

export type IngestResult =
  | { status: 'accepted' | 'duplicate'; event: RelayEvent; targets: string[] }
  | { status: 'quarantined'; id: string; reason: string }
  | { status: 'refused'; reason: string };

export type Ingest = (input: IngestInput) => Promise<IngestResult>;

export interface IngestDeps {
  config: RelayConfig;
  store: Pick<AppStore, 'ingest' | 'quarantine'>;
  logger: Logger;
  now: () => number;
  sha256: Sha256;
  metrics?: Metrics;
  /** An event with files to archive was stored: wakes the archiver. */
  onMedia?: () => void;
  /** After an event is stored: wakes the dispatcher, feeds the live view, prints demo lines. */
  onAccepted?: (event: RelayEvent, targets: string[], preview: string | null) => void;
  /** The relay's alerts: a quarantined body is counted, an instance's state and quota watched. */
  alerter?: Pick<Alerter, 'count' | 'watch'>;
}

/** Only these events can raise an instance alert; messages never wait for the alerter. */
const WATCHED = new Set(['com.green-api.instance.state', 'com.green-api.instance.quota']);

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseNotification(body: Uint8Array): ParsedNotification {
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
  const result = NotificationHeader.safeParse(raw);
  if (result.success)
    return {
      ok: true,
      raw: raw as Record<string, unknown>,
      header: result.data,
      instance: String(result.data.instanceData.idInstance),
    };

  const issue = result.error.issues[0]!;
  const idInstance = (raw as { instanceData?: { idInstance?: unknown } }).instanceData?.idInstance;
  const named =
    (typeof idInstance === 'number' && Number.isInteger(idInstance) && idInstance >= 0) ||
    (typeof idInstance === 'string' && /^\d{1,20}$/.test(idInstance));
  return {
    ok: false,
    reason: `${formatPath(issue.path)} is missing or invalid: ${issue.message}`,
    instance: named ? String(idInstance) : null,
  };
}

export function createIngest(deps: IngestDeps): Ingest {
  const { store, logger, metrics } = deps;
  const matchTargets = createTargetMatcher(deps.config.targets);
  const archived = new Set(deps.config.targets.filter((t) => t.media === 'archived').map((t) => t.name));

  /** Keeps a body that is not a notification: visible, releasable, never delivered on its own (contract §1). */
  async function quarantine(input: IngestInput, reason: string, instance: string | null): Promise<IngestResult> {
    if (input.invalid === 'refuse') return { status: 'refused', reason };
    const id = await store.quarantine({
      receivedAt: input.receivedAt,
      reason,
      instance,
      contentType: input.contentType,
      body: input.body,
    });
    logger.warn('notification.quarantined', {
      quarantineId: id,
      reason,
      instance,
      bytes: input.body.byteLength,
      via: input.via,
    });
    metrics?.quarantined();
    await deps.alerter?.count('quarantined', reason);
    return { status: 'quarantined', id, reason };
  }

  return async (input) => {
    const parsed = input.parsed ?? parseNotification(input.body);
    if (!parsed.ok) return quarantine(input, parsed.reason, parsed.instance ?? input.instance ?? null);

    let event: RelayEvent;
    let texts: { attributes: string; data: string };
    try {
      event = await buildEvent(parsed.raw, parsed.header, new Date(input.receivedAt), deps.sha256);
      // The id is the rebuilt webhook's; what the relay read is the journal entry.
      if (input.recovered !== undefined) event.data = { ...event.data, recovered: 'journal', raw: input.recovered };
      texts = eventTexts(event);
    } catch (err) {
      // Parsed, but beyond normalizing (nesting too deep to serialize, say): kept, not a store failure.
      return quarantine(input, `the notification could not be normalized: ${describeError(err)}`, parsed.instance);
    }
    const targets = matchTargets(event);
    const line = preview({
      kind: event.data.message?.kind ?? null,
      text: event.data.message?.text ?? null,
      status: event.data.status?.value ?? null,
      state: event.data.state,
    });
    const media = mediaJobs(event, deps.config);
    const status = await store.ingest({
      id: event.id,
      instance: event.greenapiinstance,
      type: event.type,
      subject: event.subject ?? null,
      receivedAt: input.receivedAt,
      preview: line,
      recovered: input.recovered !== undefined,
      attributes: texts.attributes,
      data: texts.data,
      body: input.body,
      targets,
      ...(media.length > 0 ? { media, waitFor: targets.filter((t) => archived.has(t)) } : {}),
    });
    const recovered = input.recovered !== undefined && status === 'accepted';
    logger.info(
      recovered ? 'notification.recovered' : status === 'accepted' ? 'notification.accepted' : 'notification.duplicate',
      {
        eventId: event.id,
        instance: event.greenapiinstance,
        type: event.type,
        webhook: event.greenapiwebhook,
        subject: event.subject,
        targets: targets.length,
        via: input.via,
        ms: deps.now() - input.receivedAt,
      },
    );
    if (status === 'accepted') {
      metrics?.received(event.type, event.greenapiinstance);
      if (recovered) metrics?.recovered(event.greenapiinstance);
      if (WATCHED.has(event.type)) await deps.alerter?.watch(event);
      if (media.length > 0) deps.onMedia?.();
      deps.onAccepted?.(event, targets, line);
    } else {
      metrics?.duplicate(event.greenapiinstance);
    }
    return { status, event, targets };
  };
}
