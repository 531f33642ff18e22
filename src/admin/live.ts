// The inspector's live list: accepted events pushed to every open GET /api/stream as
// server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { RelayEvent } from '../event.ts';
import { summaryJson } from './api.ts';

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

export function createLiveFeed(): LiveFeed {
  const subscribers = new Set<(name: string, data: string) => void>();
  return {
    publish(name, data) {
      if (subscribers.size === 0) return;
      const json = JSON.stringify(data());
      for (const send of subscribers) send(name, json);
    },
    stream(c) {
      return streamSSE(c, async (stream) => {
        const send = (event: string, data: string) => void stream.writeSSE({ event, data });
        subscribers.add(send);
        const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
        await stream.writeSSE({ event: 'ready', data: '{}' });
        await new Promise<void>((resolve) => stream.onAbort(resolve));
        clearInterval(heartbeat);
        subscribers.delete(send);
      });
    },
  };
}
