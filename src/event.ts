// The relay's event: a CloudEvents 1.0 header (https://github.com/cloudevents/spec) around the
// normalized notification (contract §2), its deterministic id (contract §3), and the JSON texts
// the store keeps and the delivery formats are assembled from.
import type { NotificationHeader } from './green-api/schema.ts';
import { normalize, type EventData } from './green-api/normalize.ts';
import { webCryptoSha256, type Sha256 } from './hash.ts';

export type { EventData, Message, MessageKind } from './green-api/normalize.ts';

/** CloudEvents context attributes of every event. */
export interface EventAttributes {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: 'application/json';
  /** Absent only on the relay's own events that are about no instance (alerts.ts). */
  greenapiinstance: string;
  greenapiwebhook: string;
}

export interface RelayEvent extends EventAttributes {
  data: EventData;
}

const TYPE_BY_WEBHOOK: Record<string, string> = {
  incomingMessageReceived: 'com.green-api.message.received',
  outgoingMessageReceived: 'com.green-api.message.sent',
  outgoingAPIMessageReceived: 'com.green-api.message.sent',
  outgoingMessageStatus: 'com.green-api.message.status',
  incomingMessageStatus: 'com.green-api.message.incoming-status',
  stateInstanceChanged: 'com.green-api.instance.state',
  statusInstanceChanged: 'com.green-api.instance.status',
  deviceInfo: 'com.green-api.instance.device',
  quotaExceeded: 'com.green-api.instance.quota',
  incomingCall: 'com.green-api.call.incoming',
  outgoingCall: 'com.green-api.call.outgoing',
  incomingBlock: 'com.green-api.chat.blocked',
};

/** The CloudEvents `type` of a `typeWebhook`; unknown ones are `com.green-api.other`. */
export function eventType(typeWebhook: string): string {
  return Object.hasOwn(TYPE_BY_WEBHOOK, typeWebhook) ? TYPE_BY_WEBHOOK[typeWebhook]! : 'com.green-api.other';
}

/** Type patterns of target filters and listing filters: exact, `prefix.*` (the dot kept), or `*`. */
export function typeMatcher(pattern: string): (type: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return (type) => type.startsWith(prefix);
  }
  return (type) => type === pattern;
}

/**
 * Builds the event for a notification that passed the NotificationHeader check. Pure but for the id's
 * SHA-256, which may be asynchronous.
 */
export async function buildEvent(
  raw: Record<string, unknown>,
  header: NotificationHeader,
  receivedAt: Date,
  sha256: Sha256 = webCryptoSha256,
): Promise<RelayEvent> {
  const data = normalize(raw, header, receivedAt);
  const attributes: EventAttributes = {
    specversion: '1.0',
    id: await eventId(data, sha256),
    source: `/green-api/instances/${data.instance.id}`,
    type: eventType(data.webhook),
    subject: data.chat?.id,
    time: eventTime(header.timestamp) ?? data.receivedAt,
    datacontenttype: 'application/json',
    greenapiinstance: data.instance.id,
    greenapiwebhook: data.webhook,
  };
  if (attributes.subject === undefined) delete attributes.subject;
  return { ...attributes, data };
}

function eventTime(timestamp: number | undefined): string | undefined {
  if (timestamp === undefined) return undefined;
  const time = new Date(timestamp * 1000);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/**
 * The event id (contract §3): what makes two notifications "the same" hashed with SHA-256, the
 * first 24 bytes in base64url (32 characters of [A-Za-z0-9_-], safe as a `webhook-id`).
 */
export async function eventId(data: EventData, sha256: Sha256 = webCryptoSha256): Promise<string> {
  const digest = await sha256(JSON.stringify(identity(data)));
  return base64url(digest.subarray(0, 24));
}

function identity(data: EventData): unknown[] {
  const instance = data.instance.id;
  const chat = data.chat?.id ?? null;
  if (data.message?.id) {
    // A redelivery may carry another timestamp; the message id is what identifies it. Each vote
    // state of a poll is its own event.
    const votes = data.message.kind === 'poll-vote' ? (data.message.poll?.votes ?? null) : null;
    return ['message', instance, data.webhook, chat, data.message.id, votes];
  }
  // incomingMessageStatus keeps the whole body: in a group each member who reads sends one, and
  // nothing in it names the reader.
  if (data.status?.messageId && data.webhook !== 'incomingMessageStatus')
    return ['status', instance, chat, data.status.messageId, data.status.value];
  if (data.call?.id) return ['call', instance, data.webhook, data.call.id, data.call.status];
  return ['body', JSON.stringify(data.raw)];
}

/** Bytes as base64url without padding (event ids). */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The JSON texts an event is stored as. `data` leaves out `raw`: the store keeps the body's own
 * bytes, and `withRaw` splices them back in, so `data.raw` is the notification exactly as Green
 * API wrote it (duplicate keys and number spellings included) without serializing it twice.
 */
export function eventTexts(event: RelayEvent): { attributes: string; data: string } {
  const { data, ...attributes } = event;
  // A recovered event's raw is the journal entry, not the body (the rebuilt notification): it is
  // kept in `data`, whose first member then says so (RECOVERED_PREFIX).
  if (data.recovered !== null) return { attributes: JSON.stringify(attributes), data: JSON.stringify(data) };
  const { raw: _raw, ...dataWithoutRaw } = data;
  return { attributes: JSON.stringify(attributes), data: JSON.stringify(dataWithoutRaw) };
}

/** How the data text of a recovered event starts: `recovered` is data's first member, its raw inside. */
const RECOVERED_PREFIX = '{"recovered":"';

/** `data` JSON (as from eventTexts, never empty) with `"raw": <rawText>` appended, unless it holds its own. */
export function withRaw(dataJson: string, rawText: string): string {
  if (dataJson.startsWith(RECOVERED_PREFIX)) return dataJson;
  return `${dataJson.slice(0, -1)},"raw":${rawText}}`;
}

/** The structured-mode CloudEvent JSON: the attributes with `data` (and its raw) appended. */
export function structuredEvent(attributesJson: string, dataJson: string, rawText: string): string {
  return `${attributesJson.slice(0, -1)},"data":${withRaw(dataJson, rawText)}}`;
}
