// The relay's metrics in Prometheus text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): counters and
// histograms kept in memory by the process, gauges read from the store when scraped.
import type { TargetState, TargetStats } from './store/store.ts';

type Labels = Record<string, string>;

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

class Counter {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines;
  }
}

class Histogram {
  readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets = DURATION_BUCKETS;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  observe(seconds: number, labels: Labels = {}): void {
    const key = JSON.stringify(labels);
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, (entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((bound, i) => {
      if (seconds <= bound) entry.counts[i]!++;
    });
    entry.sum += seconds;
    entry.count++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) =>
        lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${counts[i]}`),
      );
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${sum}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
    return lines;
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** What the store says of targets when scraped: their counts, and their circuits and pauses. */
export interface StoreView {
  stats: TargetStats[];
  states: TargetState[];
  /** Every configured target, so that one never held still shows as closed. */
  targets: string[];
}

/** The gauges read from the store when scraped: backlog, dead, held, and each target's state. */
export function storeGauges(view: StoreView): string[] {
  const names = [...new Set([...view.targets, ...view.stats.map((t) => t.target)])].sort();
  const stats = new Map(view.stats.map((t) => [t.target, t]));
  const states = new Map(view.states.map((s) => [s.target, s]));
  const stateOf = (target: string) =>
    states.get(target)?.paused ? 'paused' : states.get(target)?.openedAt != null ? 'open' : 'closed';
  const gauge = (name: string, help: string, lines: string[]) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...lines,
  ];
  const perTarget = (pick: (target: string) => number) =>
    names.map((target) => `${formatLabels({ target })} ${pick(target)}`);
  return [
    ...gauge(
      'green_relay_deliveries_pending',
      'Deliveries waiting for a first attempt or a retry (the backlog), by target.',
      perTarget((t) => stats.get(t)?.pending ?? 0).map((l) => `green_relay_deliveries_pending${l}`),
    ),
    ...gauge(
      'green_relay_deliveries_dead',
      'Deliveries whose retries are exhausted, by target.',
      perTarget((t) => stats.get(t)?.dead ?? 0).map((l) => `green_relay_deliveries_dead${l}`),
    ),
    ...gauge(
      'green_relay_deliveries_held',
      'Pending deliveries of targets whose circuit is open or that are paused, by target.',
      perTarget((t) => (stateOf(t) === 'closed' ? 0 : (stats.get(t)?.pending ?? 0))).map(
        (l) => `green_relay_deliveries_held${l}`,
      ),
    ),
    ...gauge(
      'green_relay_target_state',
      "Each target's state: 1 on the line of its state (closed, open, paused), 0 on the others.",
      names.flatMap((target) =>
        ['closed', 'open', 'paused'].map(
          (state) => `green_relay_target_state${formatLabels({ target, state })} ${stateOf(target) === state ? 1 : 0}`,
        ),
      ),
    ),
  ];
}

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const received = new Counter(
    'green_relay_notifications_received_total',
    'Notifications accepted as new events, by type and instance.',
  );
  const duplicates = new Counter(
    'green_relay_notifications_duplicate_total',
    'Notifications answered as duplicates, by instance.',
  );
  const quarantined = new Counter('green_relay_notifications_quarantined_total', 'Bodies kept in quarantine.');
  const rejected = new Counter(
    'green_relay_requests_rejected_total',
    'Requests to /webhook refused, by reason (forbidden, unauthorized, too_large, unavailable).',
  );
  const pulled = new Counter(
    'green_relay_notifications_pulled_total',
    'Notifications taken with receiveNotification (pull mode), by instance.',
  );
  const pollErrors = new Counter(
    'green_relay_pull_errors_total',
    'Failed receiveNotification or deleteNotification calls, by instance.',
  );
  const recovered = new Counter(
    'green_relay_notifications_recovered_total',
    "Messages whose webhook never came, recovered from Green API's journals, by instance.",
  );
  const passes = new Counter(
    'green_relay_reconcile_passes_total',
    'Reconciliation passes over the journals, by instance and outcome (ok, failed).',
  );
  const attempts = new Counter(
    'green_relay_delivery_attempts_total',
    'Delivery attempts, by target and outcome (delivered, retry, dead, held).',
  );
  const alerts = new Counter(
    'green_relay_alerts_total',
    'Alerts the relay emitted (its own com.green-relay.* events), by type.',
  );
  const probes = new Counter(
    'green_relay_target_probes_total',
    'Probes of targets whose circuit is open, by target and outcome (delivered: it closed).',
  );
  const rateWaits = new Counter(
    'green_relay_rate_limit_waits_total',
    'Times a target had deliveries due but its rate limit made them wait, by target.',
  );
  const answerLatency = new Histogram(
    'green_relay_answer_duration_seconds',
    'Time from a notification arriving to its answer.',
  );
  const deliveryLatency = new Histogram(
    'green_relay_delivery_duration_seconds',
    'Duration of delivery attempts, by target.',
  );

  return {
    received: (type: string, instance: string) => received.inc({ type, instance }),
    duplicate: (instance: string) => duplicates.inc({ instance }),
    quarantined: () => quarantined.inc(),
    rejected: (reason: 'forbidden' | 'unauthorized' | 'too_large' | 'unavailable') => rejected.inc({ reason }),
    pulled: (instance: string) => pulled.inc({ instance }),
    pollError: (instance: string) => pollErrors.inc({ instance }),
    recovered: (instance: string) => recovered.inc({ instance }),
    reconciled: (instance: string, outcome: 'ok' | 'failed') => passes.inc({ instance, outcome }),
    answered: (ms: number) => answerLatency.observe(ms / 1000),
    attempted: (target: string, outcome: string, ms: number) => {
      attempts.inc({ target, outcome });
      deliveryLatency.observe(ms / 1000, { target });
    },
    alerted: (type: string) => alerts.inc({ type }),
    probed: (target: string, outcome: string) => probes.inc({ target, outcome }),
    rateLimited: (target: string) => rateWaits.inc({ target }),
    /** The exposition text; `view` gives the store's gauges. */
    render(view: StoreView): string {
      return [
        ...received.render(),
        ...duplicates.render(),
        ...quarantined.render(),
        ...rejected.render(),
        ...pulled.render(),
        ...pollErrors.render(),
        ...recovered.render(),
        ...passes.render(),
        ...attempts.render(),
        ...alerts.render(),
        ...probes.render(),
        ...rateWaits.render(),
        ...storeGauges(view),
        ...answerLatency.render(),
        ...deliveryLatency.render(),
        '',
      ].join('\n');
    },
  };
}
