// The media archive on Node, against real servers on loopback: a file server standing in for
// Green API's file hosts, the journal stand-in's downloadFile, real sinks as targets, the relay's
// own /media links. Archived bytes equal the source's; a dead link and an empty quoted link are
// recovered through downloadFile; a file over the cap is refused with the reason; the address
// guard refuses loopback links, names resolving to them and redirects to them, and hosts off the
// list; links are signed and expire; Range works; "archived" targets wait, others do not; a
// relay killed mid-download finishes the file after its restart.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ConfigInput } from '../src/config.ts';
import { createMediaLinks } from '../src/media/links.ts';
import { startJournalStandIn } from './helpers/green-api-journals.ts';
import { spawnRelay } from './helpers/process.ts';
import { startRelay, tempDir, TOKEN } from './helpers/relay.ts';
import { startSink, type Sink } from './helpers/sink.ts';

const INSTANCE = '1101000501';
const API_TOKEN = 'media-api-token';
const PUBLIC = 'https://relay.example';
const PHOTO = randomBytes(300_000);

/** A file host: /photo.jpg, /big.bin (over the cap), /gone (404), /to-loopback (redirect to 127.0.0.2), /held (answers when released). */
async function fileHost(options: { holdFirst?: 'partial' | 'whole' } = {}) {
  let port = 0;
  const held: ServerResponse[] = [];
  let releasedHeld = false;
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url!);
    const photo = () => res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': PHOTO.length }).end(PHOTO);
    switch (req.url) {
      case '/photo.jpg':
        return photo();
      case '/big.bin':
        // No Content-Length: the cap is kept while the bytes come.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(randomBytes(2 * 1024 * 1024));
      case '/gone':
        return res.writeHead(404).end('expired');
      case '/flaky':
        // The first request fails as a busy host does; the next one is answered.
        return hits.filter((h) => h === '/flaky').length === 1 ? res.writeHead(503).end('busy') : photo();
      case '/to-loopback':
        return res.writeHead(302, { location: `http://127.0.0.2:${port}/photo.jpg` }).end();
      case '/held':
        if (releasedHeld) return photo();
        if (options.holdFirst === 'partial') {
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': PHOTO.length });
          res.write(PHOTO.subarray(0, 1000));
        }
        return void held.push(res);
      default:
        return res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(close);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    release() {
      releasedHeld = true;
      for (const res of held.splice(0))
        if (res.headersSent) res.end(PHOTO.subarray(1000));
        else res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': PHOTO.length }).end(PHOTO);
    },
  };
}

async function sink(): Promise<Sink> {
  const s = await startSink();
  onTestFinished(() => s.close());
  return s;
}

let unique = 0;
function imageWebhook(downloadUrl: string, extra: { messageData?: object } = {}) {
  return {
    typeWebhook: 'incomingMessageReceived',
    instanceData: { idInstance: Number(INSTANCE), wid: '79876543210@c.us', typeInstance: 'whatsapp' },
    timestamp: 1_780_000_000,
    idMessage: `MEDIA${Date.now()}${unique++}`,
    senderData: { chatId: '79001234567@c.us', sender: '79001234567@c.us', senderName: 'Ann' },
    messageData: extra.messageData ?? {
      typeMessage: 'imageMessage',
      fileMessageData: { downloadUrl, caption: 'look', mimeType: 'image/jpeg', fileName: 'photo.jpg' },
    },
  };
}

async function setUp(media: Record<string, unknown> = {}) {
  const journal = await startJournalStandIn(INSTANCE, API_TOKEN);
  onTestFinished(() => journal.close());
  const [plain, archived] = [await sink(), await sink()];
  const config: Partial<ConfigInput> = {
    instances: {
      '*': { token: TOKEN },
      [INSTANCE]: { token: TOKEN, api: { apiUrl: journal.url, apiToken: API_TOKEN } },
    },
    reconcile: false,
    media: {
      archive: true,
      publicUrl: PUBLIC,
      maxBytes: 1024 * 1024,
      privateNetworks: ['127.0.0.1/32'],
      retry: [],
      ...media,
    },
    targets: [
      { name: 'plain', url: plain.url },
      { name: 'archived', url: archived.url, media: 'archived' },
    ],
  };
  const relay = await startRelay(config);
  onTestFinished(() => relay.close(0));
  /** What the archived target got for the event, once it got it. */
  const archivedEvent = async (id: string) => {
    await expect
      .poll(() => archived.requests.some((r) => r.headers['webhook-id'] === id), { timeout: 15_000 })
      .toBe(true);
    return JSON.parse(archived.requests.find((r) => r.headers['webhook-id'] === id)!.body.toString());
  };
  /** Fetches an archived link from the relay (the link names the configured publicUrl). */
  const open = (link: string, headers: Record<string, string> = {}) => {
    const url = new URL(link);
    return fetch(`${relay.url}${url.pathname}${url.search}`, { headers });
  };
  const post = async (body: object) => ((await (await relay.post(body)).json()) as { id: string }).id;
  return { journal, plain, archived, relay, archivedEvent, open, post };
}

describe('the media archive', () => {
  it('keeps the file byte for byte, serves it at a signed link with ranges, and holds back only "archived" targets', async () => {
    const host = await fileHost();
    const { plain, archivedEvent, open, post, archived, relay } = await setUp();
    const id = await post(imageWebhook(`${host.url}/held`));
    // The plain target does not wait for the file; the archived one does.
    await expect.poll(() => plain.requests.length, { timeout: 10_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(archived.requests).toHaveLength(0);
    host.release();
    const event = await archivedEvent(id);
    const media = event.data.message.media;
    expect(media.url).toBe(`${host.url}/held`);
    expect(media.archiveError).toBeNull();
    expect(media.archivedUrl).toMatch(
      new RegExp(`^${PUBLIC}/media/${INSTANCE}/${id}/message\\?expires=\\d+&sig=[\\w-]+$`),
    );
    // The plain target's copy has no archive fields (it never waited).
    expect(JSON.parse(plain.requests[0]!.body.toString()).data.message.media.archivedUrl).toBeUndefined();

    const whole = await open(media.archivedUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('image/jpeg');
    expect(whole.headers.get('content-security-policy')).toContain('sandbox');
    expect(Buffer.compare(Buffer.from(await whole.arrayBuffer()), PHOTO)).toBe(0);
    const part = await open(media.archivedUrl, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${PHOTO.length}`);
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), PHOTO.subarray(100, 200))).toBe(0);
    expect((await open(media.archivedUrl, { range: `bytes=${PHOTO.length}-` })).status).toBe(416);

    // Tampered, expired, or for another file: refused.
    expect(
      (await open(media.archivedUrl.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)))
        .status,
    ).toBe(403);
    expect((await open(media.archivedUrl.replace('/message?', '/quoted?'))).status).toBe(403);
    const key = readFileSync(join(relay.dataDir, 'media-key'), 'utf8').trim();
    const stale = await createMediaLinks({ key, publicUrl: PUBLIC, ttlMs: -60_000 }).sign(
      { instance: INSTANCE, eventId: id, part: 'message' },
      Date.now(),
    );
    expect((await open(stale)).status).toBe(403);
    const good = await createMediaLinks({ key, publicUrl: PUBLIC, ttlMs: 60_000 }).sign(
      { instance: INSTANCE, eventId: id, part: 'message' },
      Date.now(),
    );
    expect((await open(good)).status).toBe(200);
  });

  it('gets a file again through downloadFile when its link is dead, and a quoted file whose link is empty', async () => {
    const host = await fileHost();
    const { journal, archivedEvent, open, post } = await setUp();
    const dead = imageWebhook(`${host.url}/gone`);
    journal.files.set(`79001234567@c.us/${dead.idMessage}`, `${host.url}/photo.jpg`);
    const quoting = imageWebhook('', {
      messageData: {
        typeMessage: 'quotedMessage',
        extendedTextMessageData: { text: 'this one', stanzaId: 'QUOTED1', participant: '79001234567@c.us' },
        quotedMessage: { stanzaId: 'QUOTED1', typeMessage: 'imageMessage', downloadUrl: '', mimeType: 'image/jpeg' },
      },
    });
    journal.files.set('79001234567@c.us/QUOTED1', `${host.url}/photo.jpg`);
    for (const [webhook, fileOf] of [
      [dead, (m: any) => m.media],
      [quoting, (m: any) => m.replyTo.media],
    ] as const) {
      const id = await post(webhook);
      const event = await archivedEvent(id);
      const file = fileOf(event.data.message);
      expect(file.archiveError).toBeNull();
      expect(Buffer.compare(Buffer.from(await (await open(file.archivedUrl)).arrayBuffer()), PHOTO)).toBe(0);
    }
    expect(journal.calls.filter((c) => c === 'downloadFile')).toHaveLength(2);
    expect(host.hits).toContain('/gone');
  });

  it('tries a file again on media.retry after its host fails, even when downloadFile has no other link', async () => {
    const host = await fileHost();
    const { archivedEvent, open, post, relay } = await setUp({ retry: ['200ms'] });
    const id = await post(imageWebhook(`${host.url}/flaky`));
    const media = (await archivedEvent(id)).data.message.media;
    expect(media.archiveError).toBeNull();
    expect(Buffer.compare(Buffer.from(await (await open(media.archivedUrl)).arrayBuffer()), PHOTO)).toBe(0);
    expect(relay.query('SELECT status, attempts FROM media WHERE event_id = ?', id)).toEqual([
      { status: 'archived', attempts: 2 },
    ]);
    expect(relay.logs.some((l) => l.includes('"event":"media.retry"'))).toBe(true);
  });

  it('refuses a file over media.maxBytes, and says why to the target that waits for it', async () => {
    const host = await fileHost();
    const { archivedEvent, post, relay } = await setUp();
    const id = await post(imageWebhook(`${host.url}/big.bin`));
    const media = (await archivedEvent(id)).data.message.media;
    expect(media.archivedUrl).toBeNull();
    expect(media.archiveError).toMatch(/over media.maxBytes \(1048576\)/);
    expect(relay.query<{ status: string }>('SELECT status FROM media WHERE event_id = ?', id)).toEqual([
      { status: 'failed' },
    ]);
  });

  it('fetches only from public addresses unless opted in: a loopback link, a name that resolves to one, a redirect to one, a host off the list', async () => {
    const host = await fileHost();
    const reasons = async (media: Record<string, unknown>, links: string[]) => {
      const { archivedEvent, post } = await setUp(media);
      const out: string[] = [];
      for (const link of links)
        out.push((await archivedEvent(await post(imageWebhook(link)))).data.message.media.archiveError);
      return out;
    };
    const closed = await reasons({ privateNetworks: false }, [
      `${host.url}/photo.jpg`,
      `http://localhost:${host.port}/photo.jpg`,
    ]);
    expect(closed[0]).toMatch(/refused: 127\.0\.0\.1 is not a public address/);
    expect(closed[1]).toMatch(/refused: localhost -> (127\.0\.0\.1|::1) is not a public address/);
    // Opted in for 127.0.0.1 only: its redirect to 127.0.0.2 is checked again, and refused.
    const [redirected] = await reasons({ privateNetworks: ['127.0.0.1/32'] }, [`${host.url}/to-loopback`]);
    expect(redirected).toMatch(/refused: 127\.0\.0\.2 is not a public address/);
    const [offList] = await reasons({ privateNetworks: true, hosts: ['127.0.0.1'] }, [
      `http://localhost:${host.port}/photo.jpg`,
    ]);
    expect(offList).toMatch(/^refused: localhost is not one of media.hosts/);
    // Nothing reached the file host but the allowed hop of the redirect.
    expect(host.hits).toEqual(['/to-loopback']);
  });

  it('fetches nothing for an instance that has no entry of its own', async () => {
    const host = await fileHost();
    const { plain, post, relay } = await setUp();
    const stranger = { ...imageWebhook(`${host.url}/photo.jpg`), instanceData: { idInstance: 1101000999 } };
    const id = await post(stranger);
    await expect.poll(() => plain.requests.length, { timeout: 10_000 }).toBe(1);
    expect(relay.query('SELECT * FROM media WHERE event_id = ?', id)).toEqual([]);
    expect(host.hits).toEqual([]);
  });

  it('finishes a file after a SIGKILL in the middle of its download', async () => {
    const host = await fileHost({ holdFirst: 'partial' });
    const archived = await sink();
    const dataDir = tempDir();
    const config: ConfigInput = {
      instances: { [INSTANCE]: { token: TOKEN } },
      reconcile: false,
      media: { archive: true, publicUrl: PUBLIC, privateNetworks: ['127.0.0.1/32'] },
      targets: [{ name: 'archived', url: archived.url, media: 'archived' }],
    };
    const first = await spawnRelay(config, dataDir);
    const answer = await fetch(`${first.url}/webhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(imageWebhook(`${host.url}/held`)),
    });
    const { id } = (await answer.json()) as { id: string };
    await expect.poll(() => host.hits.length, { timeout: 10_000 }).toBe(1);
    first.child.kill('SIGKILL');
    await first.exited;
    host.release(); // the next request for the file is answered whole
    const second = await spawnRelay(config, dataDir);
    onTestFinished(() => void second.child.kill('SIGKILL'));
    await expect.poll(() => archived.requests.length, { timeout: 20_000 }).toBe(1);
    const media = JSON.parse(archived.requests[0]!.body.toString()).data.message.media;
    expect(media.archiveError).toBeNull();
    const url = new URL(media.archivedUrl);
    const bytes = Buffer.from(await (await fetch(`${second.url}${url.pathname}${url.search}`)).arrayBuffer());
    expect(Buffer.compare(bytes, PHOTO)).toBe(0);
    expect(archived.requests[0]!.headers['webhook-id']).toBe(id);
    expect(host.hits.length).toBe(2);
  }, 60_000);
});
