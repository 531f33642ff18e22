// GET /metrics: counters move as notifications and attempts happen, and the text parses as the
// Prometheus exposition format.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, type TestRelay } from './helpers/relay.ts';
import { startSink } from './helpers/sink.ts';

type Family = {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
};

/** Every line is a comment or `name{labels} value` (the exposition format's grammar). */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.e+-]+$/;

async function scrape(relay: TestRelay): Promise<Map<string, Family> & { text: string }> {
  const response = await fetch(`${relay.url}/metrics`, { headers: { authorization: 'Bearer metrics-admin' } });
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const line of text.split('\n').filter(Boolean))
    expect(line.startsWith('# HELP ') || line.startsWith('# TYPE ') || SAMPLE.test(line), line).toBe(true);
  const families = parsePrometheusTextFormat(text) as Family[];
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
}

/** Scrapes until `ready` holds (counts from the store thread follow its commits by up to 10 ms); returns that scrape. */
async function scrapeWhen(relay: TestRelay, ready: (families: Map<string, Family>) => boolean) {
  let families = await scrape(relay);
  await expect
    .poll(
      async () => {
        families = await scrape(relay);
        return ready(families);
      },
      { timeout: 5_000 },
    )
    .toBe(true);
  return families;
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  Number(
    families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 0,
  );

describe('/metrics', () => {
  it('counts notifications, duplicates, quarantine, refusals and attempts, with backlog, dead and latencies', async () => {
    const sink = await startSink((_, i) => ({ status: i === 0 ? 500 : 200 }));
    onTestFinished(() => sink.close());
    const relay = await startRelay({
      admin: { token: 'metrics-admin' },
      targets: [
        { name: 'crm', url: sink.url, retry: ['20ms'] },
        { name: 'gone', url: 'http://127.0.0.1:9/x', retry: [] },
      ],
    });
    onTestFinished(() => relay.close());

    const before = await scrape(relay);
    expect(value(before, 'green_relay_notifications_received_total')).toBe(0);

    const text = fixture('incomingMessageReceived.textMessage.json').bytes;
    await relay.post(text);
    await relay.post(text);
    await relay.post(fixture('stateInstanceChanged.notAuthorized.json').bytes);
    await relay.post('garbage');
    await relay.post(text, { token: 'wrong' });
    await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'pending'").length).toBe(0);
    // The store thread's counts reach the metrics up to 10 ms after its attempts (store-thread/main.ts).
    const after = await scrapeWhen(
      relay,
      (families) =>
        families.get('green_relay_delivery_attempts_total')?.metrics.reduce((n, m) => n + Number(m.value), 0) === 5,
    );
    expect(
      value(after, 'green_relay_notifications_received_total', {
        type: 'com.green-api.message.received',
        instance: '1234',
      }),
    ).toBe(1);
    expect(
      value(after, 'green_relay_notifications_received_total', { type: 'com.green-api.instance.state', instance: '1' }),
    ).toBe(1);
    expect(value(after, 'green_relay_notifications_duplicate_total', { instance: '1234' })).toBe(1);
    expect(value(after, 'green_relay_notifications_quarantined_total')).toBe(1);
    expect(value(after, 'green_relay_requests_rejected_total', { reason: 'unauthorized' })).toBe(1);
    expect(value(after, 'green_relay_delivery_attempts_total', { target: 'crm', outcome: 'retry' })).toBe(1);
    expect(value(after, 'green_relay_delivery_attempts_total', { target: 'crm', outcome: 'delivered' })).toBe(2);
    expect(value(after, 'green_relay_delivery_attempts_total', { target: 'gone', outcome: 'dead' })).toBe(2);
    expect(value(after, 'green_relay_deliveries_dead', { target: 'gone' })).toBe(2);
    expect(value(after, 'green_relay_deliveries_pending', { target: 'crm' })).toBe(0);
    expect(after.get('green_relay_answer_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(Number(after.get('green_relay_answer_duration_seconds')!.metrics[0]!.count)).toBe(4);
    // (the parser package drops the labels of labelled histograms, so these are read from the text)
    expect(after.text).toContain('green_relay_delivery_duration_seconds_count{target="crm"} 3');
    expect(after.text).toContain('green_relay_delivery_duration_seconds_count{target="gone"} 2');
    expect(after.text).toContain('green_relay_delivery_duration_seconds_bucket{target="crm",le="+Inf"} 3');
  });

  it('tells each target state, held deliveries, probes, alerts and rate-limit waits', async () => {
    let up = false;
    const sink = await startSink((request) => ({ status: request.path.endsWith('/down') && !up ? 503 : 200 }));
    onTestFinished(() => sink.close());
    const relay = await startRelay({
      admin: { token: 'metrics-admin' },
      targets: [
        {
          name: 'down',
          url: `${sink.url}/down`,
          retry: ['10ms', '10ms', '10ms'],
          circuit: { afterFailures: 2, probeEvery: '100ms', holdFor: '1h' },
        },
        { name: 'slow', url: `${sink.url}/slow`, rateLimit: '10/s' },
        { name: 'kept', url: `${sink.url}/kept` },
        { name: 'alerts', url: `${sink.url}/alerts`, types: ['com.green-relay.*'] },
      ],
    });
    onTestFinished(() => relay.close());
    const pause = await fetch(`${relay.url}/api/targets/kept/pause`, {
      method: 'POST',
      headers: { authorization: 'Bearer metrics-admin' },
    });
    expect(pause.status).toBe(200);

    const text = fixture('incomingMessageReceived.textMessage.json').json as Record<string, any>;
    for (let i = 0; i < 5; i++) await relay.post(JSON.stringify({ ...text, idMessage: `METRICS${i}` }));
    // Until a probe of `down` has failed and the last event's deliveries to the held targets are held too.
    const open = await scrapeWhen(
      relay,
      (families) =>
        value(families, 'green_relay_target_probes_total', { target: 'down', outcome: 'failed' }) > 0 &&
        value(families, 'green_relay_deliveries_held', { target: 'down' }) === 5 &&
        value(families, 'green_relay_deliveries_held', { target: 'kept' }) === 5,
    );

    expect(value(open, 'green_relay_target_state', { target: 'down', state: 'open' })).toBe(1);
    expect(value(open, 'green_relay_target_state', { target: 'down', state: 'closed' })).toBe(0);
    expect(value(open, 'green_relay_target_state', { target: 'kept', state: 'paused' })).toBe(1);
    expect(value(open, 'green_relay_target_state', { target: 'slow', state: 'closed' })).toBe(1);
    expect(value(open, 'green_relay_deliveries_held', { target: 'down' })).toBe(5);
    expect(value(open, 'green_relay_deliveries_held', { target: 'kept' })).toBe(5);
    expect(value(open, 'green_relay_deliveries_held', { target: 'slow' })).toBe(0);
    expect(value(open, 'green_relay_rate_limit_waits_total', { target: 'slow' })).toBeGreaterThan(0);
    expect(value(open, 'green_relay_alerts_total', { type: 'com.green-relay.target.paused' })).toBe(1);
    expect(value(open, 'green_relay_alerts_total', { type: 'com.green-relay.target.circuit-opened' })).toBe(1);

    up = true;
    // The state is read from the store, the probe and alert counts come from the dispatcher's notes,
    // which may follow it by a few milliseconds: wait for all three.
    const closed = await scrapeWhen(
      relay,
      (families) =>
        value(families, 'green_relay_target_state', { target: 'down', state: 'closed' }) === 1 &&
        value(families, 'green_relay_target_probes_total', { target: 'down', outcome: 'delivered' }) > 0 &&
        value(families, 'green_relay_alerts_total', { type: 'com.green-relay.target.circuit-closed' }) > 0,
    );
    expect(value(closed, 'green_relay_target_probes_total', { target: 'down', outcome: 'delivered' })).toBe(1);
    expect(value(closed, 'green_relay_alerts_total', { type: 'com.green-relay.target.circuit-closed' })).toBe(1);
  });
});
