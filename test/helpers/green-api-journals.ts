// A stand-in for the parts of Green API's HTTP API that reconciliation and the media archive use,
// as ../shared/docs/green-api-journals.md describes them: getSettings ("yes"/"no" flags and the
// wid), lastIncomingMessages / lastOutgoingMessages (entries of the last `minutes`, flat journal
// shape) and downloadFile ({"downloadUrl"}; 400 when the message has no file). Written as a
// responder, so that it can answer inside a sink (the behaviour cases' one server) or on its own.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SinkReply } from './sink.ts';

export interface JournalStandIn {
  /** Journal entries, as Green API lists them. */
  incoming: Record<string, unknown>[];
  outgoing: Record<string, unknown>[];
  /** GetSettings' answer. */
  settings: Record<string, string>;
  /** downloadFile: the link to give for a chatId/idMessage (`${chatId}/${idMessage}`). */
  files: Map<string, string>;
  /** Every call: "getSettings", "lastIncomingMessages 429", "downloadFile". */
  calls: string[];
  /** The next `count` calls of `method` answer `status` (429 by default). */
  failNext(method: string, count: number, status?: number): void;
  /** Answers a request whose path starts with `prefix`; null for any other path. */
  respond(request: { method: string; path: string; body: Buffer }): SinkReply | null;
}

export function journalStandIn(
  instance: string,
  apiToken: string,
  prefix = '',
  now: () => number = Date.now,
): JournalStandIn {
  const failing = new Map<string, { count: number; status: number }>();
  const standIn: JournalStandIn = {
    incoming: [],
    outgoing: [],
    settings: {
      wid: '79876543210@c.us',
      incomingWebhook: 'yes',
      outgoingMessageWebhook: 'yes',
      outgoingAPIMessageWebhook: 'yes',
      outgoingWebhook: 'yes',
    },
    files: new Map(),
    calls: [],
    failNext(method, count, status = 429) {
      failing.set(method, { count, status });
    },
    respond(request) {
      if (!request.path.startsWith(`${prefix}/waInstance`)) return null;
      const url = new URL(request.path.slice(prefix.length), 'http://x');
      const match = /^\/(?:v3\/)?waInstance(\d+)\/([A-Za-z]+)\/([^/]+)$/.exec(url.pathname);
      if (!match || match[1] !== instance) return json(404, { error: 'not found' });
      const method = match[2]!;
      if (match[3] !== apiToken) return json(401, { error: 'Unauthorized' });
      const fault = failing.get(method);
      if (fault && fault.count > 0) {
        fault.count--;
        standIn.calls.push(`${method} ${fault.status}`);
        return json(fault.status, { error: fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error' });
      }
      standIn.calls.push(method);
      if (method === 'getSettings' && request.method === 'GET') return json(200, standIn.settings);
      if ((method === 'lastIncomingMessages' || method === 'lastOutgoingMessages') && request.method === 'GET') {
        const minutes = Number(url.searchParams.get('minutes') ?? 1440);
        const since = now() / 1000 - minutes * 60;
        const entries = method === 'lastIncomingMessages' ? standIn.incoming : standIn.outgoing;
        return json(
          200,
          entries.filter((e) => Number(e.timestamp) >= since),
        );
      }
      if (method === 'downloadFile' && request.method === 'POST') {
        const { chatId, idMessage } = JSON.parse(request.body.toString() || '{}') as Record<string, string>;
        const link = standIn.files.get(`${chatId}/${idMessage}`);
        if (!link)
          return json(400, {
            message: `File message encrypted url not found by chatId ${chatId} and idMessage ${idMessage}`,
          });
        return json(200, { downloadUrl: link });
      }
      return json(405, {});
    },
  };
  return standIn;
}

const json = (status: number, body: unknown): SinkReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The stand-in on a server of its own, on a free loopback port. */
export async function startJournalStandIn(
  instance: string,
  apiToken: string,
  now?: () => number,
): Promise<JournalStandIn & { url: string; close(): Promise<void> }> {
  const standIn = journalStandIn(instance, apiToken, '', now);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = standIn.respond({ method: req.method!, path: req.url!, body: Buffer.concat(chunks) }) ?? {
        status: 404,
      };
      res.writeHead(reply.status ?? 200, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
