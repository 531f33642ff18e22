// The optional sender allow-list (contract §1): receive.allowFrom and receive.trustedProxies, over
// real HTTP. Every caller here is on loopback, so the "remote" ones arrive through a trusted proxy's
// X-Forwarded-For, exactly as they would behind nginx or a tunnel client.
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, type TestRelay } from './helpers/relay.ts';

const text = fixture('incomingMessageReceived.textMessage.json').bytes;

async function relay(receive: object): Promise<TestRelay> {
  const r = await startRelay({ receive });
  onTestFinished(() => r.close());
  return r;
}
const stored = (r: TestRelay) => r.query<{ n: number }>('SELECT COUNT(*) AS n FROM events')[0]!.n;

describe('the sender allow-list', () => {
  it('refuses a sender that is not listed with 403, stores nothing, counts and logs it without the token', async () => {
    const r = await relay({ allowFrom: ['green-api', '203.0.113.0/24'] });
    const response = await r.post(text);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: { code: 'forbidden', message: 'this sender may not post notifications here (receive.allowFrom)' },
    });
    expect(stored(r)).toBe(0);
    const line = r.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'notification.forbidden');
    expect(line).toMatchObject({ caller: '127.0.0.1' });
    expect(r.logs.join('\n')).not.toContain('test-token');
    const metrics = await (
      await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${r.admin.token}` } })
    ).text();
    expect(metrics).toContain('green_relay_requests_rejected_total{reason="forbidden"} 1');
  });

  it('admits a listed sender, and one of Green API\'s published addresses with "green-api"', async () => {
    const r = await relay({ allowFrom: ['green-api', '127.0.0.0/8'], trustedProxies: [] });
    expect((await r.post(text)).status).toBe(200);
    const proxied = await relay({ allowFrom: ['green-api'], trustedProxies: ['127.0.0.1'] });
    expect((await proxied.post(text, { headers: { 'x-forwarded-for': '51.250.84.44' } })).status).toBe(200);
    expect((await proxied.post(text, { headers: { 'x-forwarded-for': '51.250.84.45' } })).status).toBe(403);
  });

  it('believes X-Forwarded-For from a trusted proxy only, and only its rightmost untrusted hop', async () => {
    const r = await relay({ allowFrom: ['203.0.113.0/24'], trustedProxies: ['127.0.0.1'] });
    expect((await r.post(text, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
    // A caller who writes the allowed address itself, left of its real one, stays refused.
    expect((await r.post(text, { headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' } })).status).toBe(403);
    expect(stored(r)).toBe(1);
  });

  it('ignores X-Forwarded-For when the peer is not a trusted proxy', async () => {
    const r = await relay({ allowFrom: ['203.0.113.0/24'] });
    expect((await r.post(text, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(403);
    expect(stored(r)).toBe(0);
  });
});
