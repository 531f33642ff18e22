// Hostile input, as properties (fast-check, fixed seed, bounded runs) over real HTTP: whatever
// arrives at the relay, it answers 200, 401 or 413 (never a 5xx), stays up, and lets nothing
// through the token check. Header injection through configured headers is refused by the config.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../src/config.ts';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, TOKEN, type TestRelay } from './helpers/relay.ts';

const SEED = 20261125;
const text = fixture('incomingMessageReceived.textMessage.json').json;
let relay: TestRelay;

beforeAll(async () => {
  relay = await startRelay({ limits: { maxBodyBytes: 65_536 }, admin: { token: 'hostile-admin' } });
});
afterAll(() => relay.close());

async function send(body: BodyInit, headers: Record<string, string> = {}, path = '/webhook'): Promise<number> {
  const response = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

const healthy = async () => expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
const notification = fc.record({
  typeWebhook: fc.string({ minLength: 1 }),
  instanceData: fc.record({ idInstance: fc.nat() }),
});

describe('hostile input', () => {
  it('answers any JSON value without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expect([200, 413]).toContain(await send(JSON.stringify(value)));
      }),
      { seed: SEED, numRuns: 150 },
    );
    await healthy();
  });

  it('answers notification-shaped bodies with random members without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        notification,
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.dictionary(fc.string(), fc.jsonValue()),
        async (base, extra, messageData) => {
          const status = await send(JSON.stringify({ ...extra, ...base, senderData: extra, messageData }));
          expect([200, 413]).toContain(status);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
    await healthy();
  });

  it('answers random bytes, invalid UTF-8 included, with 200 and a quarantine', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        expect(await send(bytes as Uint8Array<ArrayBuffer>)).toBe(200);
      }),
      { seed: SEED, numRuns: 100 },
    );
    await healthy();
  });

  it('survives deep nesting, inside and outside a notification', async () => {
    const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(await send(deep(30_000))).toBe(200);
    for (const depth of [1_000, 20_000]) {
      const body = `{"typeWebhook":"deep","instanceData":{"idInstance":1},"payload":${deep(depth)}}`;
      expect(await send(body)).toBe(200);
    }
    await healthy();
  });

  it('takes huge strings up to the limit and refuses what is over it with 413', async () => {
    const withText = (n: number) =>
      JSON.stringify({
        ...text,
        idMessage: `HUGE${n}`,
        messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'ж'.repeat(n) } },
      });
    expect(await send(withText(30_000))).toBe(200);
    expect(await send(withText(40_000))).toBe(413);
    expect(await send('x'.repeat(10_000_000))).toBe(413);
    await healthy();
  });

  it('ignores the content type: any type, or none, is read as the body it is', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          '',
          'application/json; charset=latin1',
        ),
        async (type) => {
          const status = await send(
            JSON.stringify({ ...text, idMessage: `CT${type.length}` }),
            type ? { 'content-type': type } : {},
          );
          expect(status).toBe(200);
        },
      ),
      { seed: SEED, numRuns: 20 },
    );
  });

  it('lets no path trick reach the admin API without its token, and answers every path without a 5xx', async () => {
    const tricks = [
      '/webhook/',
      '//webhook',
      '/WEBHOOK',
      '/webhook/../api/events',
      '/%2e%2e/api/events',
      '/api/../api/events',
      '/api//events',
      '/api/events?token=x',
      '/./api/events',
      '/api/%65vents',
    ];
    for (const path of tricks) {
      const response = await fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status, path).toBeLessThan(500);
      if (response.status === 200) expect(new URL(response.url).pathname.startsWith('/api'), path).toBe(false);
    }
    await fc.assert(
      fc.asyncProperty(fc.webPath(), async (path) => {
        const response = await fetch(`${relay.url}/${path.replace(/^\/+/, '')}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        await response.arrayBuffer();
        expect(response.status).toBeLessThan(500);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('refuses configured header values that would inject headers, and keeps the others verbatim', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const config = () =>
          validateConfig(
            {
              instances: { '*': { token: 't' } },
              targets: [{ name: 't', url: 'https://x.example.com', headers: { 'X-Value': value } }],
            },
            {},
          );
        if (/[\r\n\0]/.test(value)) expect(config).toThrow(ConfigError);
        else expect(config().targets[0]!.headers['X-Value']).toBe(value);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('keeps its memory flat over many hostile requests', async () => {
    const round = async () => {
      for (let i = 0; i < 300; i++)
        await send(
          i % 3 === 0
            ? 'not json'
            : JSON.stringify({ typeWebhook: `t${i}`, instanceData: { idInstance: i }, junk: 'z'.repeat(i * 10) }),
        );
    };
    await round();
    const before = process.memoryUsage().heapUsed;
    for (let r = 0; r < 3; r++) await round();
    const grownMb = (process.memoryUsage().heapUsed - before) / 1_048_576;
    expect(grownMb).toBeLessThan(64);
    await healthy();
  });
});
