// Reconciliation's rules, in this process against the journal stand-in over loopback and a real
// SQLite file: how far back each pass reads (first pass, after a restart, a gap longer than the
// dedup window), which webhooks it recovers (only those switched on), young entries left for the
// next pass, one pass at a time, 5xx and 429 waited out, a failed pass keeps its place, and the
// apiToken never written to a log. The end-to-end case on every runtime is in test/behaviour/.
import { describe, expect, it, onTestFinished } from 'vitest';
import { validateConfig } from '../src/config.ts';
import { createIngest } from '../src/ingest.ts';
import { webCryptoSha256 } from '../src/hash.ts';
import { createJsonLogger } from '../src/log.ts';
import { createReconciler } from '../src/pull/reconciler.ts';
import { openBetterSqlite } from '../src/runtimes/node/sqlite-driver.ts';
import { createSqlStore } from '../src/store/sql-store.ts';
import { startJournalStandIn } from './helpers/green-api-journals.ts';
import { startRelay } from './helpers/relay.ts';
import { tempDir } from './helpers/tmp.ts';

const INSTANCE = '1101000001';
const API_TOKEN = 'reconcile-api-token-never-logged';
const MINUTE = 60_000;

async function setUp(options: { configuredToken?: string } = {}) {
  const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
  const journal = await startJournalStandIn(INSTANCE, API_TOKEN, () => clock.now);
  onTestFinished(() => journal.close());
  const file = `${tempDir()}/relay.db`;
  const config = validateConfig(
    {
      instances: {
        [INSTANCE]: { token: 't', api: { apiUrl: journal.url, apiToken: options.configuredToken ?? API_TOKEN } },
      },
      targets: [{ name: 'crm', url: 'http://127.0.0.1:9/none' }],
      reconcile: { every: '10m', overlap: '5m', grace: '1m' },
    },
    {},
  );
  const logs: string[] = [];
  /** A relay's reconciler over the SQLite file: a second call is the relay after a restart. */
  const start = (ready?: () => boolean) => {
    const db = openBetterSqlite(file);
    onTestFinished(() => db.close());
    const store = createSqlStore(db, { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs });
    const logger = createJsonLogger((line) => logs.push(line));
    const now = () => clock.now;
    const ingest = createIngest({ config, store, logger, now, sha256: webCryptoSha256 });
    const reconciler = createReconciler({ config, store, ingest, fetch, logger, now, backoffMs: 10, ready });
    onTestFinished(() => reconciler.stop());
    return { db, store, reconciler };
  };
  const entry = (id: string, secondsAgo: number, extra: object = {}) => ({
    type: 'incoming',
    idMessage: id,
    timestamp: Math.floor(clock.now / 1000) - secondsAgo,
    typeMessage: 'textMessage',
    chatId: '79001234567@c.us',
    textMessage: `text ${id}`,
    senderId: '79001234567@c.us',
    senderName: 'Ann',
    ...extra,
  });
  return { journal, clock, logs, start, entry };
}

describe('reconciliation', () => {
  it('reads back only the overlap at first, then from the last pass (kept across a restart), never past the dedup window', async () => {
    const { journal, clock, logs, start, entry } = await setUp();
    journal.incoming.push(entry('OLD', 3 * 60), entry('A', 2 * 60));
    const first = await start().reconciler.pass(INSTANCE);
    expect(first).toMatchObject({ minutes: 5, entries: 2, recovered: 2, duplicates: 0 });

    // Two hours later, after a restart: the pass reads the time the relay was down.
    clock.now += 2 * 60 * MINUTE;
    journal.incoming.push(entry('B', 30 * 60));
    const { reconciler, db } = start();
    expect(await reconciler.runDue()).toBe(clock.now + 10 * MINUTE);
    const logged = logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'reconcile.pass');
    // 2 h since the last pass, less the 1 min grace it stopped at, plus the 5 min overlap.
    expect(logged.at(-1)).toMatchObject({ minutes: 126, recovered: 1, duplicates: 2 });
    expect(db.all<{ id: string }>('SELECT id FROM events').length).toBe(3);

    // Three days later: read back no further than the dedup window (48 h), and say so.
    clock.now += 3 * 24 * 60 * MINUTE;
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ minutes: 48 * 60 });
    expect(logs.some((l) => l.includes('reconcile.gap_too_long'))).toBe(true);
    expect(logs.join('\n')).not.toContain(API_TOKEN);
  });

  it('recovers only the webhooks the instance has switched on', async () => {
    const { journal, start, entry } = await setUp();
    journal.settings.incomingWebhook = 'no';
    journal.settings.outgoingMessageWebhook = 'no';
    journal.incoming.push(entry('IN', 120));
    journal.outgoing.push(
      entry('PHONE', 120, { type: 'outgoing', sendByApi: false }),
      entry('API', 120, { type: 'outgoing', sendByApi: true }),
    );
    const { reconciler, db } = start();
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ entries: 2, recovered: 1, skipped: 1 });
    expect(journal.calls).not.toContain('lastIncomingMessages');
    const [event] = db.all<{ data: string }>('SELECT data FROM events');
    expect(JSON.parse(event!.data)).toMatchObject({ recovered: 'journal', webhook: 'outgoingAPIMessageReceived' });
  });

  it('leaves entries younger than the grace for the next pass, which recovers them', async () => {
    const { journal, clock, start, entry } = await setUp();
    journal.incoming.push(entry('YOUNG', 20));
    const { reconciler } = start();
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ recovered: 0, skipped: 1 });
    clock.now += 10 * MINUTE;
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ recovered: 1 });
  });

  it('waits while a pulled instance still has a queue to empty (what waits there is not lost)', async () => {
    const { journal, start, entry } = await setUp();
    journal.incoming.push(entry('QUEUED', 120));
    let drained = false;
    const { reconciler } = start(() => drained);
    expect(await reconciler.pass(INSTANCE)).toBeNull();
    expect(journal.calls).toEqual([]);
    drained = true;
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ recovered: 1 });
  });

  it('lets a started relay take what Green API held back before it reconciles a pushed instance', async () => {
    const journal = await startJournalStandIn(INSTANCE, API_TOKEN);
    onTestFinished(() => journal.close());
    const relay = await startRelay({
      instances: { [INSTANCE]: { token: 't', api: { apiUrl: journal.url, apiToken: API_TOKEN } } },
      reconcile: { every: '1h' },
    });
    onTestFinished(() => relay.close(0));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(journal.calls).toEqual([]); // not before 2 minutes after the start
    expect(relay.logs.some((l) => l.includes('"event":"reconcile.started"'))).toBe(true);
  });

  it('runs one pass per instance at a time', async () => {
    const { start } = await setUp();
    const { reconciler } = start();
    const [a, b] = await Promise.all([reconciler.pass(INSTANCE), reconciler.pass(INSTANCE)]);
    expect([a === null, b === null].sort()).toEqual([false, true]);
  });

  it('waits out 429 and 5xx answers, and a pass that still fails keeps its place for the next interval', async () => {
    const { journal, clock, logs, start, entry } = await setUp();
    journal.incoming.push(entry('X', 120));
    journal.failNext('getSettings', 2, 503);
    journal.failNext('lastIncomingMessages', 1, 429);
    const { reconciler } = start();
    expect(await reconciler.pass(INSTANCE)).toMatchObject({ recovered: 1 });
    expect(journal.calls.slice(0, 4)).toEqual([
      'getSettings 503',
      'getSettings 503',
      'getSettings',
      'lastIncomingMessages 429',
    ]);
    expect(logs.filter((l) => l.includes('reconcile.retry'))).toHaveLength(3);

    clock.now += 10 * MINUTE;
    journal.incoming.push(entry('Y', 120));
    journal.failNext('lastIncomingMessages', 5, 500); // every try of one pass
    await expect(reconciler.pass(INSTANCE)).rejects.toThrow('lastIncomingMessages answered HTTP 500');
    // Not due again until the next interval, and then it reads from the last good pass.
    expect(await reconciler.runDue()).toBe(clock.now + 10 * MINUTE);
    clock.now += 10 * MINUTE;
    await reconciler.runDue();
    const passes = logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'reconcile.pass');
    expect(passes.at(-1)).toMatchObject({ minutes: 26, recovered: 1 });
  });

  it('refuses a 401 at once, naming the method and not the token', async () => {
    const { journal, start } = await setUp({ configuredToken: 'a-wrong-token' });
    const { reconciler } = start();
    const failed = await reconciler.pass(INSTANCE).catch((err: Error) => err);
    expect(String(failed)).toBe('GreenApiError: getSettings answered HTTP 401 (check apiUrl and apiToken)');
    expect(String(failed)).not.toContain('a-wrong-token');
    expect(journal.calls).toEqual([]);
  });

  it('is off without credentials, or with reconcile false', async () => {
    expect(validateConfig({ instances: { '1': { token: 't' } } }, {}).reconcile).toBeNull();
    expect(
      validateConfig(
        { instances: { '1': { token: 't', api: { apiUrl: 'https://x', apiToken: 'a' } } }, reconcile: false },
        {},
      ).reconcile,
    ).toBeNull();
    expect(() =>
      validateConfig({ instances: { '*': { token: 't', api: { apiUrl: 'https://x', apiToken: 'a' } } } }, {}),
    ).toThrow('instances.*.api: only a named instance has API credentials');
  });
});
