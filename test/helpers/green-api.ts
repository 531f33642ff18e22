// A local stand-in for Green API's HTTP API (receiveNotification / deleteNotification), as its
// docs describe it: a FIFO queue per instance, the same notification again until it is deleted,
// `null` after receiveTimeout when the queue is empty. Faults on demand: 500s, hanging calls.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGreenApi {
  url: string;
  /** Notifications still queued, oldest first. */
  queue: { receiptId: number; body: object }[];
  /** Every call, as "GET receiveNotification" or "DELETE deleteNotification 7". */
  calls: string[];
  /** The most receiveNotification calls open at once so far (one puller: 1). */
  readonly mostPolling: number;
  enqueue(body: object): number;
  /** The next `count` calls answer 500. */
  failNext(count: number): void;
  /** Calls of this method get no answer until `release()`. */
  hold(method: 'receiveNotification' | 'deleteNotification'): void;
  release(): void;
  close(): Promise<void>;
}

export async function startFakeGreenApi(
  instance: string,
  apiToken: string,
  options: { maxWaitMs?: number } = {},
): Promise<FakeGreenApi> {
  const queue: { receiptId: number; body: object }[] = [];
  const calls: string[] = [];
  const waiting = new Set<() => void>();
  const held: ServerResponse[] = [];
  let holding: string | null = null;
  let failing = 0;
  let nextReceipt = 1;
  let polling = 0;
  let mostPolling = 0;

  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const match = /^\/waInstance(\d+)\/(receiveNotification|deleteNotification)\/([^/]+)(?:\/(\d+))?$/.exec(
      url.pathname,
    );
    calls.push(`${req.method} ${match?.[2] ?? url.pathname}${match?.[4] ? ` ${match[4]}` : ''}`);
    res.setHeader('content-type', 'application/json');
    if (!match || match[1] !== instance) return void res.writeHead(404).end('{"error":"not found"}');
    if (match[3] !== apiToken) return void res.writeHead(401).end('{"error":"Unauthorized"}');
    if (failing > 0) {
      failing--;
      return void res.writeHead(500).end('{"error":"Internal Server Error"}');
    }
    if (holding === match[2]) return void held.push(res);

    if (match[2] === 'deleteNotification' && req.method === 'DELETE') {
      const receiptId = Number(match[4]);
      const found = queue[0]?.receiptId === receiptId;
      if (found) queue.shift();
      return void res.end(JSON.stringify({ result: found, reason: found ? '' : 'receiptId not found' }));
    }
    if (match[2] === 'receiveNotification' && req.method === 'GET') {
      mostPolling = Math.max(mostPolling, ++polling);
      res.on('close', () => polling--);
      const answer = () => res.end(queue[0] ? JSON.stringify(queue[0]) : 'null');
      if (queue.length > 0) return answer();
      const waitMs = Math.min(
        Number(url.searchParams.get('receiveTimeout') ?? 5) * 1000,
        options.maxWaitMs ?? Infinity,
      );
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        answer();
      };
      const timer = setTimeout(wake, waitMs);
      waiting.add(wake);
      res.on('close', () => {
        clearTimeout(timer);
        waiting.delete(wake);
      });
      return;
    }
    res.writeHead(405).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queue,
    calls,
    get mostPolling() {
      return mostPolling;
    },
    enqueue(body) {
      const receiptId = nextReceipt++;
      queue.push({ receiptId, body });
      for (const wake of [...waiting]) wake();
      return receiptId;
    },
    failNext: (count) => void (failing = count),
    hold: (method) => void (holding = method),
    release() {
      holding = null;
      for (const res of held.splice(0)) res.destroy();
    },
    async close() {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
