// The media archive on Deno self-hosted (files in RELAY_DATA_DIR, the same guarded fetch as on
// Node): a file archived byte for byte and served at its signed link with a range, a redirect to
// a loopback address outside the opted-in network refused; and on the Deno KV store, a refused start.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSink } from '../helpers/sink.ts';
import { TOKEN } from '../helpers/webhook.ts';
import { RUN_ARGS, spawnDenoRelay } from './relay.ts';

const options = { sanitizeOps: false, sanitizeResources: false };
const INSTANCE = 1101000601;
const PHOTO = crypto.getRandomValues(new Uint8Array(50_000));

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const webhook = (id: string, downloadUrl: string) => ({
  typeWebhook: 'incomingMessageReceived',
  instanceData: { idInstance: INSTANCE, wid: '1@c.us', typeInstance: 'whatsapp' },
  timestamp: 1_780_000_000,
  idMessage: id,
  senderData: { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
  messageData: { typeMessage: 'imageMessage', fileMessageData: { downloadUrl, mimeType: 'image/jpeg' } },
});

Deno.test({ name: 'media archive (deno, sqlite)', ...options }, async () => {
  let port = 0;
  const host = createServer((req, res) => {
    if (req.url === '/to-loopback')
      return void res.writeHead(302, { location: `http://127.0.0.2:${port}/photo.jpg` }).end();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': PHOTO.length }).end(PHOTO);
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  port = (host.address() as AddressInfo).port;
  const sink = await startSink();
  const dir = Deno.makeTempDirSync();
  const relay = await spawnDenoRelay(
    {
      instances: { [INSTANCE]: { token: TOKEN } },
      reconcile: false,
      media: { archive: true, publicUrl: 'https://relay.example', privateNetworks: ['127.0.0.1/32'], retry: [] },
      targets: [{ name: 'archived', url: sink.url, media: 'archived' }],
    },
    dir,
  );
  try {
    const post = (body: object) =>
      fetch(`${relay.url}/webhook`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
    await (await post(webhook('DENO-MEDIA-1', `http://127.0.0.1:${port}/photo.jpg`))).body?.cancel();
    await (await post(webhook('DENO-MEDIA-2', `http://127.0.0.1:${port}/to-loopback`))).body?.cancel();
    await until('both events at the archived target', () => sink.requests.length === 2);
    const media = (id: string) =>
      sink.requests.map((r) => JSON.parse(r.body.toString())).find((e) => e.data.message.id === id).data.message.media;
    const archived = media('DENO-MEDIA-1');
    assert(archived.archiveError === null, `archived: ${archived.archiveError}`);
    const link = new URL(archived.archivedUrl);
    const whole = new Uint8Array(await (await fetch(`${relay.url}${link.pathname}${link.search}`)).arrayBuffer());
    assert(whole.length === PHOTO.length && whole.every((b, i) => b === PHOTO[i]), 'the archived bytes are the source');
    const part = await fetch(`${relay.url}${link.pathname}${link.search}`, { headers: { range: 'bytes=0-9' } });
    assert(part.status === 206 && (await part.arrayBuffer()).byteLength === 10, 'a range is answered');
    const refused = media('DENO-MEDIA-2');
    assert(
      refused.archivedUrl === null && /127\.0\.0\.2 is not a public address/.test(refused.archiveError),
      refused.archiveError,
    );
  } finally {
    await relay.kill();
    await sink.close();
    host.close();
  }
});

Deno.test({ name: 'media archive refused on the Deno KV store', ...options }, async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/relay.config.json`,
    JSON.stringify({
      instances: { [INSTANCE]: { token: TOKEN } },
      media: { archive: true, publicUrl: 'https://relay.example' },
    }),
  );
  const run = await new Deno.Command(Deno.execPath(), {
    args: RUN_ARGS,
    env: {
      RELAY_CONFIG: `${dir}/relay.config.json`,
      RELAY_DATA_DIR: dir,
      RELAY_STORE: 'kv',
      RELAY_KV_PATH: `${dir}/relay.kv`,
      PORT: '0',
    },
  }).output();
  const said = new TextDecoder().decode(run.stderr);
  assert(
    run.code === 78 && /not offered on the Deno KV store/.test(said),
    `the start is refused (${run.code}): ${said}`,
  );
});
