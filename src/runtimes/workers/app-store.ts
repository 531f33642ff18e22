// The app's store on Workers: each instance's events live in that instance's Durable Object, so
// ingest goes to one of them and what operators read is gathered from all of them (merged newest
// first, which keeps cursors valid across objects). Quarantined bodies, which may name no
// instance, share one object. Instances admitted by "*" are noted in a registry object the first
// time an isolate sees them, so that listings find them. Targets' circuits and pauses, alert
// counts and the relay's small values are the control object's.
import { RELAY_INSTANCE } from '../../alerts.ts';
import { encodeCursor, mergeTargetStats } from '../../store/rules.ts';
import type { Activity, AppStore, EventSummary, NewEvent, Page, QuarantinedBody } from '../../store/store.ts';
import { CONTROL, QUARANTINE, type InstanceStore } from './instance-store.ts';

const REGISTRY = '_registry';

export function createDurableObjectStore(
  namespace: DurableObjectNamespace<InstanceStore>,
  configured: string[],
): AppStore {
  const stub = (name: string) => namespace.getByName(name);
  const noted = new Set<string>(configured);

  async function instances(): Promise<string[]> {
    return [...new Set([...configured, RELAY_INSTANCE, ...(await stub(REGISTRY).instances())])];
  }
  async function everywhere<T>(call: (store: DurableObjectStub<InstanceStore>) => Promise<T>): Promise<T[]> {
    return Promise.all((await instances()).map((name) => call(stub(name))));
  }

  return {
    async ingest(event: NewEvent) {
      const status = await stub(event.instance).ingest(event);
      if (!noted.has(event.instance)) {
        await stub(REGISTRY).noteInstance(event.instance);
        noted.add(event.instance);
      }
      return status;
    },
    quarantine: (body: QuarantinedBody) => stub(QUARANTINE).quarantine(body),
    targetStates: () => stub(CONTROL).targetStates(),
    setTargetPaused: (target, paused, now) => stub(CONTROL).setTargetPaused(target, paused, now),
    countAlert: (key, at, sample, by) => stub(CONTROL).countAlert(key, at, sample, by),
    takeAlertCounts: (before) => stub(CONTROL).takeAlertCounts(before),
    readState: (key) => stub(CONTROL).readState(key),
    // The link names the instance: one object to ask.
    getMedia: async (eventId, instance) => (instance ? stub(instance).getMedia(eventId) : []),
    writeState: (key, value, now) => stub(CONTROL).writeState(key, value, now),
    async activity(since, bucketMs): Promise<Activity> {
      const parts = await everywhere((s) => s.activity(since, bucketMs));
      const received = new Map<number, number>();
      for (const part of parts) for (const r of part.received) received.set(r.at, (received.get(r.at) ?? 0) + r.count);
      return {
        received: [...received].sort((a, b) => a[0] - b[0]).map(([at, count]) => ({ at, count })),
        attempts: parts.flatMap((p) => p.attempts),
      };
    },
    ping: () => stub(QUARANTINE).ping(),

    async listEvents(query) {
      const pages = query.instance
        ? [await stub(query.instance).listEvents(query)]
        : await everywhere((s) => s.listEvents(query));
      const merged = pages
        .flatMap((page) => page.items as EventSummary[])
        .sort((a, b) => b.receivedAt - a.receivedAt || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
      const items = merged.slice(0, query.limit);
      const more = merged.length > query.limit || pages.some((page) => page.next !== null);
      const last = items.at(-1);
      return { items, next: more && last ? encodeCursor(last.receivedAt, last.id) : null } satisfies Page<EventSummary>;
    },
    async getEvent(id) {
      for (const found of await everywhere((s) => s.getEvent(id))) if (found) return found;
      return null;
    },
    async replay(eventId, targets, now) {
      // Only the object that holds the event has rows to make due; the others answer 0.
      return (await everywhere((s) => s.replay(eventId, targets, now))).reduce((sum, n) => sum + n, 0);
    },
    async replayDead(target, now) {
      return (await everywhere((s) => s.replayDead(target, now))).reduce((sum, n) => sum + n, 0);
    },
    listQuarantine: (limit, cursor) => stub(QUARANTINE).listQuarantine(limit, cursor),
    getQuarantined: (id) => stub(QUARANTINE).getQuarantined(id),
    markReleased: (id, eventId) => stub(QUARANTINE).markReleased(id, eventId),
    async targetStats(since) {
      return mergeTargetStats(await everywhere((s) => s.targetStats(since)));
    },
  };
}
