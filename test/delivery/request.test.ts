// The body of a delivery is built once per event and format (delivery/request.ts): the targets of
// one event share the bytes, each format keeps its own, and another event gets its own.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config.ts';
import { buildRequest } from '../../src/delivery/request.ts';
import type { ClaimedDelivery } from '../../src/store/store.ts';

const config = validateConfig(
  {
    instances: { '*': { token: 't' } },
    targets: [
      { name: 'crm', url: 'http://127.0.0.1:9/crm' },
      { name: 'bot', url: 'http://127.0.0.1:9/bot' },
      { name: 'flow', url: 'http://127.0.0.1:9/flow', format: 'cloudevents-binary' },
    ],
  },
  {},
);
const [crm, bot, flow] = config.targets;

function delivery(id: string, body: Uint8Array, target: string): ClaimedDelivery {
  const attributes = JSON.stringify({ specversion: '1.0', id, source: 's', type: 't', time: '2026-12-01T00:00:00Z' });
  return { ref: 1, eventId: id, target, attempt: 1, attributes, data: '{"text":"hi"}', body };
}

describe('delivery bodies', () => {
  it('builds each event’s body once per format, for all of its targets', () => {
    const body = new TextEncoder().encode('{"typeWebhook":"incomingMessageReceived"}');
    const a = buildRequest(crm!, delivery('e1', body, 'crm'), 'ua').body;
    const b = buildRequest(bot!, delivery('e1', body, 'bot'), 'ua').body;
    const c = buildRequest(flow!, delivery('e1', body, 'flow'), 'ua').body;
    expect(b).toBe(a);
    expect(c).not.toEqual(a);
    expect(JSON.parse(new TextDecoder().decode(a))).toMatchObject({ id: 'e1', data: { text: 'hi' } });
    const other = buildRequest(crm!, delivery('e2', new TextEncoder().encode('{}'), 'crm'), 'ua').body;
    expect(JSON.parse(new TextDecoder().decode(other))).toMatchObject({ id: 'e2' });
  });
});
