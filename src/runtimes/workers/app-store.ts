// The app's store on Workers: each instance's events live in that instance's Durable Object, so
// ingest goes to one of them, and what operators read across instances comes from the event index
// (event-index.ts), which those objects feed: an operator request asks a fixed number of objects,
// however many instances there are. An event is opened and replayed in its own object, which the
// index names. Quarantined bodies, which may name no instance, share one object. Targets'
// circuits and pauses, alert counts and the relay's small values are the control object's.
import type { AppStore, NewEvent, QuarantinedBody } from '../../store/store.ts';
import { INDEX, type EventIndex } from './event-index.ts';
import { CONTROL, QUARANTINE, type InstanceStore } from './instance-store.ts';

/** Event ids whose object the index named, kept per isolate: an event never moves. */
const LOCATED_CAP = 10_000;

export function createDurableObjectStore(
  instances: DurableObjectNamespace<InstanceStore>,
  indexes: DurableObjectNamespace<EventIndex>,
): AppStore {
  const stub = (name: string) => instances.getByName(name);
  const index = () => indexes.getByName(INDEX);
  const located = new Map<string, string>();

  const remember = (eventId: string, instance: string) => {
    if (located.size >= LOCATED_CAP) located.clear();
    located.set(eventId, instance);
  };

  /** The instance object holding the event, or null when the index has not heard of it. */
  async function holder(eventId: string): Promise<DurableObjectStub<InstanceStore> | null> {
    let instance = located.get(eventId);
    if (instance === undefined) {
      const found = await index().locate(eventId);
      if (found === null) return null;
      remember(eventId, (instance = found));
    }
    return stub(instance);
  }

  return {
    async ingest(event: NewEvent) {
      const status = await stub(event.instance).ingest(event);
      remember(event.id, event.instance);
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
    activity: (since, bucketMs) => index().activity(since, bucketMs),
    ping: () => stub(QUARANTINE).ping(),

    // One instance's events come from its own object, which is never behind the index.
    listEvents: (query) => (query.instance ? stub(query.instance).listEvents(query) : index().listEvents(query)),
    async getEvent(id) {
      return (await holder(id))?.getEvent(id) ?? null;
    },
    async replay(eventId, targets, now) {
      return (await holder(eventId))?.replay(eventId, targets, now) ?? 0;
    },
    // Queued by the index, which asks the objects that may hold some, a batch at a time.
    replayDead: (target, now) => index().replayDead(target, now),
    listQuarantine: (limit, cursor) => stub(QUARANTINE).listQuarantine(limit, cursor),
    getQuarantined: (id) => stub(QUARANTINE).getQuarantined(id),
    markReleased: (id, eventId) => stub(QUARANTINE).markReleased(id, eventId),
    targetStats: (since) => index().targetStats(since),
  };
}
