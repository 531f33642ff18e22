// The HTTP request for one delivery in its target's format (contract §4): the body bytes and the
// headers, signed with Standard Webhooks when the target has a secret. `slack` posts one line a
// person reads, `{"text": …}`, which Slack and Mattermost incoming webhooks take as it is.
import type { TargetConfig } from '../config.ts';
import { structuredEvent, withRaw, type EventAttributes } from '../event.ts';
import type { ClaimedDelivery } from '../store/store.ts';
import type { Signer } from './sign.ts';

export interface DeliveryRequest {
  headers: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Binary-mode attribute headers (https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/http-protocol-binding.md#313-metadata-headers). */
const CE_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'greenapiinstance',
  'greenapiwebhook',
] as const;

/**
 * Each event's body in each format, built once for all its targets. The deliveries of one event
 * share its stored bytes (one read per claim in sql-store.ts, or the ingest's own on Node), which
 * key this; a store that hands each delivery its own bytes simply builds them each time.
 */
const built = new WeakMap<Uint8Array, Partial<Record<TargetConfig['format'], Uint8Array>>>();
function once(delivery: ClaimedDelivery, format: TargetConfig['format'], build: () => string): Uint8Array {
  let bodies = built.get(delivery.body);
  if (!bodies) built.set(delivery.body, (bodies = {}));
  return (bodies[format] ??= encoder.encode(build()));
}

export function buildRequest(target: TargetConfig, delivery: ClaimedDelivery, userAgent: string): DeliveryRequest {
  const headers: Record<string, string> = {};
  let body: Uint8Array;
  if (target.format === 'raw') {
    headers['content-type'] = 'application/json';
    body = delivery.body;
  } else if (target.format === 'slack') {
    headers['content-type'] = 'application/json';
    body = encoder.encode(JSON.stringify({ text: chatLine(delivery) }));
  } else if (target.format === 'cloudevents-binary') {
    headers['content-type'] = 'application/json';
    const attributes = JSON.parse(delivery.attributes) as EventAttributes;
    for (const name of CE_ATTRIBUTES) {
      const value = attributes[name];
      if (value !== undefined) headers[`ce-${name}`] = percentEncode(value);
    }
    body = once(delivery, target.format, () => withRaw(delivery.data, decoder.decode(delivery.body)));
  } else {
    headers['content-type'] = 'application/cloudevents+json; charset=utf-8';
    body = once(delivery, target.format, () =>
      structuredEvent(delivery.attributes, delivery.data, decoder.decode(delivery.body)),
    );
  }
  // The config schema rejects header names the relay sets itself, so these cannot override them.
  Object.assign(headers, target.headers);
  headers['webhook-id'] = delivery.eventId;
  headers['user-agent'] = userAgent;
  return { headers, body };
}

/**
 * One line for a chat tool: the relay's own events carry theirs (`data.text`); a Green API event
 * reads as its type, chat and what it says ("message.received from 79001234567@c.us: text \"Hi\"").
 */
function chatLine(delivery: ClaimedDelivery): string {
  const attributes = JSON.parse(delivery.attributes) as EventAttributes;
  const data = JSON.parse(delivery.data) as {
    text?: unknown;
    message?: { kind?: string; text?: string | null } | null;
    status?: { value?: string } | null;
    state?: string | null;
  };
  if (typeof data.text === 'string') return data.text;
  const what = data.message
    ? `${data.message.kind ?? 'message'}${data.message.text ? ` "${data.message.text}"` : ''}`
    : data.status
      ? `status ${data.status.value}`
      : data.state
        ? `state ${data.state}`
        : '';
  const type = attributes.type.replace(/^com\.green-api\./, '');
  return `[${attributes.greenapiinstance ?? 'relay'}] ${type}${attributes.subject ? ` ${attributes.subject}` : ''}${what ? `: ${what}` : ''}`;
}

/** Adds the Standard Webhooks timestamp and signature headers. */
export async function sign(request: DeliveryRequest, id: string, signer: Signer, nowMs: number): Promise<void> {
  const timestamp = Math.floor(nowMs / 1000);
  request.headers['webhook-timestamp'] = String(timestamp);
  request.headers['webhook-signature'] = await signer(id, timestamp, request.body);
}

/** Header values must be printable ASCII: the binding percent-encodes space, `"`, `%` and the rest as UTF-8. */
function percentEncode(value: string): string {
  return value.replace(/[^\x21-\x7E]|["%]/gu, (char) => encodeURIComponent(char).replace(/"/g, '%22'));
}
