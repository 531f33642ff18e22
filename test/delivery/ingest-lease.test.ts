// Deliveries leased in the ingest's own commit (dispatch-loop.ts ingest, sql-store.ts
// ingestLeased), as Node's store thread runs them: over a real SQLite file, sending to real sinks.
// A target that can take an event at once gets it without a claim; one that cannot (per-chat
// order, a full lane, a held circuit) gets it through the claim as before, in the same order.
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { validateConfig, type ConfigInput } from '../../src/config.ts';
import { createDispatchLoop, type DispatchLoopDeps } from '../../src/delivery/dispatch-loop.ts';
import { createJsonLogger } from '../../src/log.ts';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { undiciPost } from '../../src/runtimes/node/undici-post.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { startSink, type Responder } from '../helpers/sink.ts';
import { tempDir } from '../helpers/tmp.ts';
import { event } from '../store/contract.ts';

async function sink(respond?: Responder) {
  const s = await startSink(respond);
  onTestFinished(() => s.close());
  return s;
}

/** The loop over a fresh store, counting the store's claims. */
async function loop(targets: ConfigInput['targets'], afterAnswer?: DispatchLoopDeps['afterAnswer']) {
  const config = validateConfig({ instances: { '*': { token: 't' } }, targets }, {});
  const store = createSqlStore(openBetterSqlite(join(tempDir(), 'relay.db')), {
    dedupWindowMs: 60_000,
    retentionMs: 60_000,
  });
  const claims: string[][] = [];
  const counted = {
    ...store,
    claim: (requests: Parameters<typeof store.claim>[0], now: number) => {
      claims.push(requests.map((r) => r.target));
      return store.claim(requests, now);
    },
  };
  const dispatcher = createDispatchLoop({
    store: counted,
    ingestLeased: store.ingestLeased,
    targets: config.targets,
    logger: createJsonLogger(() => {}),
    now: Date.now,
    userAgent: 'test',
    alertGroupEveryMs: 60_000,
    post: undiciPost,
    // No look at the store but those an event or an attempt asks for: a look missed never comes.
    idleMs: 600_000,
    afterAnswer,
  });
  await dispatcher.start();
  onTestFinished(() => dispatcher.stop(1_000));
  // The claim of the start (nothing due yet) is not one an event needed.
  await new Promise((resolve) => setTimeout(resolve, 50));
  claims.length = 0;
  const at = (target: string) => claims.filter((c) => c.includes(target)).length;
  return { dispatcher, store, claims: at };
}

const chatEvent = (id: string, targets: string[], subject = '79001234567@c.us') =>
  event({ id, targets, subject, receivedAt: Date.now() });

describe('deliveries leased at ingest', () => {
  it('sends to a target that can take the event at once without a claim', async () => {
    const s = await sink();
    const { dispatcher, store, claims } = await loop([{ name: 'crm', url: s.url }]);
    for (let i = 0; i < 5; i++) expect(await dispatcher.ingest(chatEvent(`e${i}`, ['crm']))).toBe('accepted');
    const received = await s.waitFor(5);
    expect(received.map((r) => r.headers['webhook-id']).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    await expect.poll(() => store.getEvent('e4').then((e) => e?.deliveries[0]?.status)).toBe('delivered');
    expect(claims('crm')).toBe(0);
    // A duplicate leases nothing and sends nothing.
    expect(await dispatcher.ingest(chatEvent('e0', ['crm']))).toBe('duplicate');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.requests).toHaveLength(5);
  });

  it('claims for a per-chat target, in the chat order, and leases for the others of the same event', async () => {
    const ordered = await sink((_, i) => ({ delayMs: i === 0 ? 200 : 0 }));
    const free = await sink();
    const { dispatcher, claims } = await loop([
      { name: 'bot', url: ordered.url, ordering: 'per-chat' },
      { name: 'crm', url: free.url },
    ]);
    for (const id of ['a1', 'a2', 'a3']) await dispatcher.ingest(chatEvent(id, ['bot', 'crm']));
    expect((await free.waitFor(3)).map((r) => r.headers['webhook-id'])).toEqual(['a1', 'a2', 'a3']);
    expect((await ordered.waitFor(3)).map((r) => r.headers['webhook-id'])).toEqual(['a1', 'a2', 'a3']);
    expect(claims('bot')).toBeGreaterThan(0);
  });

  it('leaves an event to the claim when the lane is full, and sends it once a slot is free', async () => {
    const slow = await sink((_, i) => ({ delayMs: i === 0 ? 300 : 0 }));
    const { dispatcher, claims } = await loop([{ name: 'crm', url: slow.url, concurrency: 1 }]);
    await dispatcher.ingest(chatEvent('b1', ['crm']));
    await dispatcher.ingest(chatEvent('b2', ['crm']));
    const received = await slow.waitFor(2);
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['b1', 'b2']);
    // b2 came through a claim after b1's attempt ended, never two at once.
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(250);
    expect(claims('crm')).toBeGreaterThan(0);
  });

  it('does not lease for a paused target: its deliveries wait, and go once it resumes', async () => {
    const s = await sink();
    const { dispatcher, store } = await loop([{ name: 'crm', url: s.url }]);
    await store.setTargetPaused('crm', true, Date.now());
    dispatcher.targetsChanged();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await dispatcher.ingest(chatEvent('c1', ['crm']));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.requests).toHaveLength(0);
    await store.setTargetPaused('crm', false, Date.now());
    dispatcher.targetsChanged();
    expect((await s.waitFor(1)).map((r) => r.headers['webhook-id'])).toEqual(['c1']);
  });

  it('does not lease for a target paused just now, before the loop has read the pause', async () => {
    const s = await sink();
    const { dispatcher, store } = await loop([{ name: 'crm', url: s.url }]);
    await store.setTargetPaused('crm', true, Date.now());
    // The admin API answers the pause once it is stored, and the next notification may come at once.
    dispatcher.targetsChanged();
    await dispatcher.ingest(chatEvent('c1', ['crm']));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.requests).toHaveLength(0);
    expect((await store.getEvent('c1'))?.deliveries[0]?.status).toBe('pending');
  });

  describe('when the caller answers first (afterAnswer, as the store thread does)', () => {
    it('sends only once afterAnswer runs the start, and keeps the slot taken until then', async () => {
      const s = await sink();
      const starts: (() => void)[] = [];
      const { dispatcher, claims } = await loop([{ name: 'crm', url: s.url, concurrency: 1 }], (start) =>
        starts.push(start),
      );
      expect(await dispatcher.ingest(chatEvent('d1', ['crm']))).toBe('accepted');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(s.requests).toHaveLength(0);
      // d1's slot is still taken: d2 is left to the claim, which waits for a free slot.
      await dispatcher.ingest(chatEvent('d2', ['crm']));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(starts).toHaveLength(1);
      expect(s.requests).toHaveLength(0);
      starts[0]!();
      expect((await s.waitFor(2)).map((r) => r.headers['webhook-id'])).toEqual(['d1', 'd2']);
      expect(claims('crm')).toBeGreaterThan(0);
    });

    it('sends nothing when it stopped before the start ran: the lease keeps the delivery', async () => {
      const s = await sink();
      const starts: (() => void)[] = [];
      const { dispatcher, store } = await loop([{ name: 'crm', url: s.url }], (start) => starts.push(start));
      await dispatcher.ingest(chatEvent('f1', ['crm']));
      await dispatcher.stop(1_000);
      starts[0]!();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(s.requests).toHaveLength(0);
      expect((await store.getEvent('f1'))?.deliveries[0]?.status).toBe('pending');
    });
  });
});
