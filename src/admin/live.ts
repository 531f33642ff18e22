// The inspector's live list: accepted events pushed to every open GET /api/stream as
// server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

export interface LiveFeed {
  /** Sends `data()` to every subscriber; with none, `data` is not even called. */
  publish(name: string, data: () => unknown): void;
  /** The SSE response for one subscriber; it ends when the client goes away. */
  stream(c: Context): Response;
}

/** A comment line at this interval keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

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
