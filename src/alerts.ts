// The relay's own events (contract §7): alerts as CloudEvents of type com.green-relay.*, stored
// and delivered through the same durable pipeline as Green API's notifications, to the targets
// whose `types` name them. One alert per change of state, never one per delivery: dead deliveries
// and quarantined bodies are counted in the store and told once per `alerts.groupEvery`.
import type { TargetConfig } from './config.ts';
import { createTargetMatcher } from './delivery/filter.ts';
import { formatDuration } from './duration.ts';
import { base64url, type RelayEvent } from './event.ts';
import type { Sha256 } from './hash.ts';
import { describeError, type Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { AppStore, NewEvent } from './store/store.ts';

/** The store's instance for relay events about no instance (never a Green API idInstance: those are digits). */
export const RELAY_INSTANCE = 'relay';
export const RELAY_SOURCE = '/green-relay';

export type AlertKind =
  | 'target.circuit-opened'
  | 'target.circuit-closed'
  | 'target.paused'
  | 'target.resumed'
  | 'deliveries.dead'
  | 'instance.needs-attention'
  | 'notifications.quarantined';

export interface Alert {
  kind: AlertKind;
  /** One line a person reads (the `slack` format posts it as it is). */
  text: string;
  target?: string;
  instance?: string;
  count?: number;
  details?: Record<string, unknown>;
}

export interface Alerter {
  emit(alert: Alert): Promise<void>;
  /** Counts a dead delivery (of a Green API event) or a quarantined body towards the next grouped alert. */
  count(key: `dead:${string}` | 'quarantined', sample: string): Promise<void>;
  /** Emits the grouped alerts whose interval has ended; resolves with when the next one will have (or null). */
  flush(): Promise<number | null>;
  /** An instance that needs a person: its state became notAuthorized, blocked, sleepMode or yellowCard, or its quota ran out. */
  watch(event: RelayEvent): Promise<void>;
}

export interface AlerterDeps {
  store: Pick<AppStore, 'ingest' | 'countAlert' | 'takeAlertCounts' | 'readState' | 'writeState'>;
  targets: readonly TargetConfig[];
  sha256: Sha256;
  now: () => number;
  logger: Logger;
  metrics?: Pick<Metrics, 'alerted'>;
  groupEveryMs: number;
  /** An alert was stored with deliveries: wake the dispatcher. */
  onDue?: () => void;
}

/** States of stateInstanceChanged that a person has to act on, and what to do. */
const NEEDS_A_PERSON: Record<string, string> = {
  notAuthorized: 'authorize it again: scan the QR code in the Green API console',
  blocked: 'the messenger blocked the account',
  sleepMode: 'the phone is offline or the app is closed',
  yellowCard: 'sending was suspended for suspected spam; messages wait in the queue for 24 hours',
};
/** A quota alert with the same status is told again after this long. */
const QUOTA_REPEAT_MS = 24 * 3_600_000;

const encoder = new TextEncoder();

/** True for the relay's own events, whose deliveries raise no alerts of their own. */
export const isRelayEvent = (type: string) => type.startsWith('com.green-relay.');

export function createAlerter(deps: AlerterDeps): Alerter {
  const { store, logger, now } = deps;
  const matchTargets = createTargetMatcher(deps.targets);
  let serial = 0;

  async function emit(alert: Alert): Promise<void> {
    const at = now();
    const type = `com.green-relay.${alert.kind}`;
    const subject = alert.target ?? alert.instance;
    const digest = await deps.sha256(
      JSON.stringify(['alert', alert.kind, subject ?? null, at, serial++, Math.random()]),
    );
    const id = base64url(digest.subarray(0, 24));
    const time = new Date(at).toISOString();
    const attributes = {
      specversion: '1.0' as const,
      id,
      source: RELAY_SOURCE,
      type,
      ...(subject ? { subject } : {}),
      time,
      datacontenttype: 'application/json' as const,
      ...(alert.instance ? { greenapiinstance: alert.instance } : {}),
    };
    const data = {
      alert: alert.kind,
      text: alert.text,
      target: alert.target ?? null,
      instance: alert.instance ?? null,
      count: alert.count ?? null,
      details: alert.details ?? null,
    };
    // An alert about a target is never sent to that target.
    const targets = matchTargets({ ...attributes, data }).filter((name) => name !== alert.target);
    const event: NewEvent = {
      id,
      instance: alert.instance ?? RELAY_INSTANCE,
      type,
      subject: subject ?? null,
      receivedAt: at,
      preview: alert.text.length > 80 ? `${alert.text.slice(0, 80)}…` : alert.text,
      attributes: JSON.stringify(attributes),
      data: JSON.stringify(data),
      body: encoder.encode(JSON.stringify({ ...data, time })),
      targets,
    };
    try {
      await store.ingest(event);
      logger.warn('alert.emitted', {
        eventId: id,
        type,
        target: alert.target,
        instance: alert.instance,
        targets: targets.length,
        text: alert.text,
      });
      deps.metrics?.alerted(type);
      if (targets.length > 0) deps.onDue?.();
    } catch (err) {
      logger.error('alert.failed', { type, error: describeError(err) });
    }
  }

  return {
    emit,
    async count(key, sample) {
      try {
        await store.countAlert(key, now(), sample);
      } catch (err) {
        logger.error('alert.failed', { key, error: describeError(err) });
      }
    },
    async flush() {
      const minutes = formatDuration(deps.groupEveryMs);
      const { taken, next } = await store.takeAlertCounts(now() - deps.groupEveryMs);
      for (const group of taken) {
        if (group.key === 'quarantined') {
          await emit({
            kind: 'notifications.quarantined',
            text: `${group.count} bod${group.count === 1 ? 'y was' : 'ies were'} quarantined in the last ${minutes} (last: ${group.sample})`,
            count: group.count,
            details: {
              firstAt: new Date(group.firstAt).toISOString(),
              lastAt: new Date(group.lastAt).toISOString(),
              lastReason: group.sample,
            },
          });
        } else {
          const target = group.key.slice('dead:'.length);
          await emit({
            kind: 'deliveries.dead',
            text: `${group.count} deliver${group.count === 1 ? 'y' : 'ies'} to ${target} died in the last ${minutes} (last error: ${group.sample})`,
            target,
            count: group.count,
            details: {
              firstAt: new Date(group.firstAt).toISOString(),
              lastAt: new Date(group.lastAt).toISOString(),
              lastError: group.sample,
            },
          });
        }
      }
      return next === null ? null : next + deps.groupEveryMs;
    },
    async watch(event) {
      const instance = event.greenapiinstance;
      if (!instance) return;
      if (event.type === 'com.green-api.instance.state' && event.data.state) {
        const state = event.data.state;
        const key = `instance-state:${instance}`;
        const last = await store.readState(key);
        if (last === state) return;
        await store.writeState(key, state, now());
        const todo = NEEDS_A_PERSON[state];
        if (todo)
          await emit({
            kind: 'instance.needs-attention',
            text: `Instance ${instance} needs a person: its state is ${state} (${todo})`,
            instance,
            details: { state, eventId: event.id },
          });
      } else if (event.type === 'com.green-api.instance.quota') {
        const status = event.data.quota?.status ?? 'quotaExceeded';
        const key = `instance-quota:${instance}`;
        const last = JSON.parse((await store.readState(key)) ?? 'null') as { status: string; at: number } | null;
        if (last && last.status === status && now() - last.at < QUOTA_REPEAT_MS) return;
        await store.writeState(key, JSON.stringify({ status, at: now() }), now());
        const quota = event.data.quota;
        const detail =
          quota?.used != null && quota.total != null
            ? `${quota.used} of ${quota.total} ${quota.method ?? ''}`.trim()
            : status;
        await emit({
          kind: 'instance.needs-attention',
          text: `Instance ${instance} needs a person: its quota is exceeded (${detail})`,
          instance,
          details: { quota, eventId: event.id },
        });
      }
    },
  };
}
