// Logs: one JSON line per notification and per attempt, with the event id; tokens, secrets and
// Authorization values never appear; logs.redact masks phone numbers and message text.
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, TOKEN } from './helpers/relay.ts';
import { startSink } from './helpers/sink.ts';

const SECRET = 'whsec_c2VjcmV0LXZhbHVlLW5ldmVyLWxvZ2dlZC0xMjM0';
const TARGET_AUTH = 'Bearer target-auth-value-5521';
const ADMIN = 'admin-token-value-8812';

async function scenario(redact: boolean) {
  const sink = await startSink((_, i) => ({ status: i === 0 ? 500 : 200, body: 'nope' }));
  onTestFinished(() => sink.close());
  const relay = await startRelay({
    admin: { token: ADMIN },
    logs: { redact },
    targets: [{ name: 'crm', url: sink.url, secret: SECRET, headers: { Authorization: TARGET_AUTH }, retry: ['20ms'] }],
  });
  onTestFinished(() => relay.close());
  const { id } = await (await relay.post(fixture('incomingMessageReceived.textMessage.json').bytes)).json();
  await relay.post('broken', { headers: { authorization: `Bearer ${TOKEN}` } });
  await relay.post({}, { token: `${TOKEN}-wrong` });
  await sink.waitFor(2);
  await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'pending'").length).toBe(0);
  await fetch(`${relay.url}/api/events/${id}/replay`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  await fetch(`${relay.url}/api/events`, { headers: { authorization: `Bearer ${ADMIN}-wrong` } });
  await sink.waitFor(3);
  // What is asserted is the log lines, and the store thread's reach the main thread up to 10 ms
  // after its commit: wait for the last attempt's line itself, not for the store to have no pending delivery.
  const attemptsOf = () =>
    relay.logs.filter((line) => line.includes('"event":"delivery.attempt"') && line.includes(id)).length;
  await expect.poll(attemptsOf).toBe(3);
  return {
    id,
    lines: relay.logs.map((line) => JSON.parse(line) as Record<string, unknown>),
    raw: relay.logs.join('\n'),
  };
}

describe('logs', () => {
  it('are JSON lines naming the event, and never hold a token, secret or Authorization value', async () => {
    const { id, lines, raw } = await scenario(false);
    expect(lines.filter((l) => l.event === 'notification.accepted' && l.eventId === id)).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'delivery.attempt' && l.eventId === id).map((l) => l.outcome)).toEqual([
      'retry',
      'delivered',
      'delivered',
    ]);
    expect(lines.find((l) => l.event === 'notification.quarantined')).toBeDefined();
    expect(lines.find((l) => l.event === 'notification.unauthorized')).toBeDefined();
    for (const secret of [TOKEN, SECRET, SECRET.slice(6), TARGET_AUTH, 'target-auth-value', ADMIN])
      expect(raw).not.toContain(secret);
    expect(raw).toContain('79001234568@c.us'); // not redacted by default
  });

  it('mask phone numbers and message text with logs.redact', async () => {
    const { lines, raw } = await scenario(true);
    expect(raw).not.toContain('79001234568');
    expect(lines.find((l) => l.event === 'notification.accepted')!.subject).toBe('790******68@c.us');
    expect(lines.find((l) => l.event === 'notification.accepted')!.instance).toBe('1234');
  });
});
