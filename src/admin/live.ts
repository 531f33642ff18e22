// The inspector's live list: accepted events pushed to every open GET /api/stream as
// server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { RelayEvent } from '../event.ts';
import { summaryJson } from './api.ts';

/**
 * Where several relays share a store: the feed's messages reach the subscribers of the other
 * relays too, so that the inspector's live list shows every accepted event whichever relay
 * serves it. Only sent while another relay has a subscriber.
 */
export interface SharedFeed {
  /** Whether another relay has a subscriber now. */
  readonly othersWatching: boolean;
  /** Sends one message to the other relays. */
  send(name: string, json: string): void;
  /** Hands over the other relays' messages. */
  listen(deliver: (name: string, json: string) => void): void;
  /** Whether this relay has subscribers now. */
  watching(on: boolean): void;
}

export interface LiveFeed {
  /** Sends `data()` to every subscriber; with none, `data` is not even called. */
  publish(name: string, data: () => unknown): void;
  /** The SSE response for one subscriber; it ends when the client goes away. */
  stream(c: Context): Response;
}

/** A comment line at this interval keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/** Publishes an event just accepted, as the list shows it: every delivery pending, none tried yet. */
export function publishAccepted(
  feed: LiveFeed,
  event: RelayEvent,
  targets: string[],
  preview: string | null,
  now: number,
): void {
  feed.publish('event', () =>
    summaryJson({
      id: event.id,
      instance: event.greenapiinstance,
      type: event.type,
      subject: event.subject ?? null,
      receivedAt: Date.parse(event.data.receivedAt),
      duplicates: 0,
      preview,
      recovered: event.data.recovered !== null,
      deliveries: targets.map((target) => ({
        target,
        status: 'pending',
        attempts: 0,
        series: 0,
        leased: false,
        nextAt: null,
        lastStatus: null,
        lastError: null,
        updatedAt: now,
      })),
    }),
  );
}

export function createLiveFeed(shared?: SharedFeed): LiveFeed {
  const subscribers = new Set<(name: string, data: string) => void>();
  const deliver = (name: string, json: string) => {
    for (const send of subscribers) send(name, json);
  };
  shared?.listen(deliver);
  return {
    publish(name, data) {
      const others = shared?.othersWatching === true;
      if (subscribers.size === 0 && !others) return;
      const json = JSON.stringify(data());
      deliver(name, json);
      if (others) shared!.send(name, json);
    },
    stream(c) {
      return streamSSE(c, async (stream) => {
        const send = (event: string, data: string) => void stream.writeSSE({ event, data });
        subscribers.add(send);
        if (subscribers.size === 1) shared?.watching(true);
        const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
        await stream.writeSSE({ event: 'ready', data: '{}' });
        await new Promise<void>((resolve) => stream.onAbort(resolve));
        clearInterval(heartbeat);
        subscribers.delete(send);
        if (subscribers.size === 0) shared?.watching(false);
      });
    },
  };
}
