// Operator requests on Workers at many instances, measured as a new user would: `wrangler dev`
// (real workerd, every object in one process), one notification per instance, then each
// request the inspector makes timed, best of two. Run by `npm run bench -- --only=workers`, or on
// its own with `tsx scripts/bench/workers-scale.ts 1000 5000` (from another checkout's root, to
// compare versions).
import { Pool } from 'undici';
import { tempDir } from '../../test/helpers/tmp.ts';
import { startWorkersRelay } from '../../test/helpers/wrangler.ts';

const TOKEN = 'bench-token';
const ADMIN = 'bench-admin';

/** Milliseconds, best of two, or why the request failed. */
type Timing = number | string;

export interface ScaleRow {
  instances: number;
  list: Timing;
  open: Timing;
  replay: Timing;
  targets: Timing;
}

async function timed(run: () => Promise<unknown>): Promise<Timing> {
  let best = Infinity;
  try {
    for (let i = 0; i < 2; i++) {
      const start = performance.now();
      await run();
      best = Math.min(best, performance.now() - start);
    }
    return best;
  } catch (err) {
    return `fails: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export const formatTiming = (t: Timing) => (typeof t === 'number' ? `${t.toFixed(0)} ms` : t);

/** How many events the listing has, page by page. */
async function listed(request: (path: string) => Promise<string>): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = JSON.parse(await request(`/api/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`));
    count += page.items.length;
    cursor = page.next;
  } while (cursor);
  return count;
}

export async function workersAtScale(sizes: number[]): Promise<ScaleRow[]> {
  const relay = await startWorkersRelay(
    {
      instances: { '*': { token: TOKEN } },
      // Nothing listens: the replay is stored and tried, its outcome does not matter here.
      targets: [{ name: 'crm', url: 'http://127.0.0.1:9/', retry: [], circuit: false }],
      admin: { token: ADMIN },
    },
    tempDir(),
  );
  // A request that asks thousands of objects may not answer at all: it fails after a minute.
  const pool = new Pool(relay.url, { connections: 16, headersTimeout: 60_000, bodyTimeout: 60_000 });
  /** The id of each instance's event, from the answer to its notification. */
  const ids = new Map<number, string>();
  const request = async (path: string, method: 'GET' | 'POST' = 'GET', body?: string) => {
    const response = await pool.request({
      path,
      method,
      headers: { authorization: `Bearer ${path === '/webhook' ? TOKEN : ADMIN}`, 'content-type': 'application/json' },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`${method} ${path.replace(/\?.*/, '')}: ${response.statusCode} ${text}`);
    return text;
  };
  const rows: ScaleRow[] = [];
  let sent = 0;
  try {
    for (const size of sizes) {
      const notify = async (i: number) => {
        const answer = await request(
          '/webhook',
          'POST',
          JSON.stringify({
            typeWebhook: 'incomingMessageReceived',
            instanceData: { idInstance: 1103000000 + i, wid: '1@c.us', typeInstance: 'whatsapp' },
            timestamp: Math.floor(Date.now() / 1000),
            idMessage: `SCALE${i}`,
            senderData: { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
            messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: `hello ${i}` } },
          }),
        );
        ids.set(i, (JSON.parse(answer) as { id: string }).id);
      };
      for (let i = sent; i < size; i += 32)
        await Promise.all(Array.from({ length: Math.min(32, size - i) }, (_, k) => notify(i + k)));
      sent = size;
      // Wait until the listing has them all (an index, where there is one, is fed after the answer).
      // A listing that fails is measured as failing below.
      const deadline = Date.now() + 300_000;
      while ((await listed(request).catch(() => size)) < size) {
        if (Date.now() > deadline) throw new Error('the events were not all listed');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const id = ids.get(Math.floor(size / 2))!;
      const row = {
        instances: size,
        list: await timed(() => request('/api/events')),
        open: await timed(() => request(`/api/events/${id}`)),
        replay: await timed(() => request(`/api/events/${id}/replay?target=crm`, 'POST')),
        targets: await timed(() => request('/targets')),
      };
      rows.push(row);
      console.error(
        `${size} instances: list ${formatTiming(row.list)}, open ${formatTiming(row.open)}, replay ${formatTiming(row.replay)}, targets page ${formatTiming(row.targets)}`,
      );
    }
  } finally {
    await pool.close();
    await relay.kill();
  }
  return rows;
}

if (process.argv[1]?.endsWith('workers-scale.ts')) {
  const sizes = process.argv.slice(2).map(Number);
  await workersAtScale(sizes.length > 0 ? sizes : [1000, 5000]);
  process.exit(0);
}
