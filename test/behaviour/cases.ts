// Behaviour cases written once and run against every runtime (node.test.ts, workers.test.ts, deno/):
// plain objects with no test-framework import, speaking only HTTP to a running relay and to real
// sink servers. One relay per runtime takes all of them: every event goes to every target, each
// target answers as its path says, and each case looks only at its own event ids.
import assert from 'node:assert/strict';
import { HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { EXPECTED } from '../fixtures-expected.ts';
import { fixture, loadFixtures } from '../helpers/fixtures.ts';
import { SECRET } from '../helpers/webhook.ts';
import { CONTROL_CASES } from './control-cases.ts';
import { FORMAT_CASES } from './format-cases.ts';
import { RECONCILE_CASES } from './reconcile-cases.ts';
import { api, at, delivery, message, post, until } from './helpers.ts';
import { ADMIN, OTHER_INSTANCE, OTHER_TOKEN, TOKEN, type BehaviourCase } from './setup.ts';

export * from './setup.ts';

// ---- the cases -----------------------------------------------------------------------------------

export const BEHAVIOUR: BehaviourCase[] = [
  {
    name: 'admits no one to the admin surface without the admin token, directly or through a proxy on the same host',
    async run(ctx) {
      const withToken = { authorization: `Bearer ${ADMIN}` };
      for (const base of [ctx.url, ctx.proxy]) {
        const where = base === ctx.url ? 'direct' : 'proxied';
        const doc = (await (await fetch(`${base}/api/openapi.json`, { headers: withToken })).json()) as {
          paths: Record<string, Record<string, unknown>>;
        };
        const posts = Object.entries(doc.paths)
          .filter(([, ops]) => 'post' in ops)
          .map(([path]) => path.replace(/\{[^}]+\}/g, 'nope'));
        assert.ok(posts.length >= 3, 'the API documents its POST routes');
        for (const path of ['/api/events', '/api/stream', '/metrics', '/api/openapi.json', ...posts]) {
          const method = posts.includes(path) ? 'POST' : 'GET';
          const refused = await fetch(`${base}${path}`, { method });
          assert.equal(refused.status, 401, `${where} ${method} ${path} without the token`);
          assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'unauthorized');
          const admitted = await fetch(`${base}${path}`, { method, headers: withToken });
          assert.notEqual(admitted.status, 401, `${where} ${method} ${path} with the token`);
          if (method === 'GET') assert.equal(admitted.status, 200, `${where} ${path} with the token`);
          await admitted.body?.cancel();
        }
        const page = await fetch(`${base}/`, { redirect: 'manual' });
        assert.equal(page.status, 303, `${where} / without the token`);
        assert.match(page.headers.get('location') ?? '', /^\/login/);
        const signedIn = await fetch(`${base}/`, { headers: withToken });
        assert.equal(signedIn.status, 200);
        assert.match(await signedIn.text(), /<title>Events/);
      }
    },
  },
  {
    name: 'delivers every fixture in all three formats, with its type, subject, kind, text and raw body',
    async run(ctx) {
      const files = loadFixtures().map((f, i) => {
        // Many examples share an idMessage; each is made its own message.
        const json =
          typeof f.json.idMessage === 'string'
            ? { ...f.json, idMessage: `${f.json.idMessage}-${Date.now()}-${i}` }
            : f.json;
        return { name: f.name, json, bytes: Buffer.from(JSON.stringify(json)) };
      });
      const ids: string[] = [];
      for (const file of files) {
        const answer = await post(ctx, file.bytes);
        assert.equal(answer.status, 200, file.name);
        assert.equal(answer.json.status, 'accepted', file.name);
        ids.push(answer.json.id);
      }
      await until(
        'every fixture in every format',
        () => ids.every((id) => ['ce', 'binary', 'raw'].every((t) => at(ctx, t, id).length > 0)),
        60_000,
      );
      files.forEach((file, i) => {
        const [type, subject, kind, text] = EXPECTED[file.name]!;
        for (const target of ['ce', 'binary']) {
          const request = at(ctx, target, ids[i]!)[0]!;
          const event = HTTP.toEvent({
            headers: request.headers as Record<string, string>,
            body: request.body.toString(),
          }) as any;
          assert.equal(event.id, ids[i], file.name);
          assert.equal(event.type, type, file.name);
          assert.equal(event.subject, subject, file.name);
          assert.equal(event.data.message?.kind ?? null, kind, file.name);
          assert.equal(event.data.message?.text ?? null, text, file.name);
          assert.deepEqual(event.data.raw, file.json, file.name);
        }
        assert.equal(Buffer.compare(at(ctx, 'raw', ids[i]!)[0]!.body, file.bytes), 0, `${file.name}: raw bytes`);
      });
    },
  },
  {
    name: 'answers duplicate for the same message again, even with another timestamp, and delivers it once',
    async run(ctx) {
      const body = message();
      const first = await post(ctx, body);
      const again = await post(ctx, { ...body, timestamp: body.timestamp + 60 });
      assert.deepEqual(again, { status: 200, json: { status: 'duplicate', id: first.json.id } });
      await until('the delivery', () => at(ctx, 'ce', first.json.id).length === 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(at(ctx, 'ce', first.json.id).length, 1);
    },
  },
  {
    name: 'quarantines a body that is not a notification, answers 200 with the reason, and lists it',
    async run(ctx) {
      for (const [body, reason] of [
        ['{"typeWebhook": ', /not JSON/],
        ['[1]', /not a JSON object/],
        [JSON.stringify({ instanceData: { idInstance: 1234 } }), /typeWebhook/],
      ] as const) {
        const answer = await post(ctx, body);
        assert.equal(answer.status, 200);
        assert.equal(answer.json.status, 'quarantined');
        assert.match(answer.json.reason, reason);
      }
      const listed = await api(ctx, '/events?status=quarantined');
      assert.ok(listed.items.length >= 3);
    },
  },
  {
    name: "refuses no token, a wrong token and another instance's token with 401, and too large a body with 413",
    async run(ctx) {
      for (const [body, token] of [
        [message(), null],
        [message(), 'wrong'],
        [message(Number(OTHER_INSTANCE)), TOKEN],
        [message(1234), OTHER_TOKEN],
      ] as const) {
        const answer = await post(ctx, body, token);
        assert.equal(answer.status, 401);
        assert.equal(answer.json.error.code, 'unauthorized');
      }
      assert.equal((await post(ctx, message(Number(OTHER_INSTANCE)), OTHER_TOKEN)).status, 200);
      const big = {
        ...message(),
        messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'x'.repeat(70_000) } },
      };
      const tooLarge = await post(ctx, big);
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.json.error.code, 'payload_too_large');
    },
  },
  {
    name: 'accepts unknown notification types as com.green-api.other',
    async run(ctx) {
      const answer = await post(ctx, {
        typeWebhook: 'somethingNew',
        instanceData: { idInstance: 1234 },
        timestamp: Date.now(),
      });
      assert.equal(answer.json.status, 'accepted');
      const [request] = await until(
        'the delivery',
        () => at(ctx, 'ce', answer.json.id).length > 0 && at(ctx, 'ce', answer.json.id),
      );
      assert.equal(JSON.parse(request!.body.toString()).type, 'com.green-api.other');
    },
  },
  {
    name: 'retries a target that answered 500, and delivers',
    async run(ctx) {
      const { json } = await post(ctx, message());
      const state = await until(
        'flaky delivered',
        async () => (await delivery(ctx, json.id, 'flaky'))?.status === 'delivered' && delivery(ctx, json.id, 'flaky'),
      );
      assert.equal(state.attempts, 2);
      assert.deepEqual(
        (await api(ctx, `/events/${json.id}`)).attempts
          .filter((a: any) => a.target === 'flaky')
          .map((a: any) => a.statusCode),
        [500, 200],
      );
    },
  },
  {
    name: 'waits as long as Retry-After asks',
    async run(ctx) {
      const { json } = await post(ctx, message());
      const [first, second] = await until(
        'two attempts',
        () => at(ctx, 'later', json.id).length >= 2 && at(ctx, 'later', json.id),
      );
      assert.ok(second!.at - first!.at >= 950, `${second!.at - first!.at} ms`);
    },
  },
  {
    name: 'stops at once on 410 Gone, and buries a delivery whose retries are exhausted',
    async run(ctx) {
      const { json } = await post(ctx, message());
      await until('gone dead', async () => (await delivery(ctx, json.id, 'gone'))?.status === 'dead');
      assert.equal(at(ctx, 'gone', json.id).length, 1);
      await until('broken dead', async () => (await delivery(ctx, json.id, 'broken'))?.status === 'dead');
      assert.equal(at(ctx, 'broken', json.id).length, 3);
      const dead = await api(ctx, '/events?status=dead&target=broken');
      assert.ok(dead.items.some((e: any) => e.id === json.id));
    },
  },
  {
    name: 'replays an event to one target as a new series with the same webhook-id',
    async run(ctx) {
      const { json } = await post(ctx, message());
      await until('ce delivered', async () => (await delivery(ctx, json.id, 'ce'))?.status === 'delivered');
      assert.deepEqual(await api(ctx, `/events/${json.id}/replay?target=ce`, 'POST'), { replayed: 1 });
      await until('a second delivery', () => at(ctx, 'ce', json.id).length === 2);
      // The replay makes series 1 at once; its attempt is recorded just after the target has it.
      const state = await until('replay recorded', async () => {
        const d = await delivery(ctx, json.id, 'ce');
        return d?.series === 1 && d.status !== 'pending' && d;
      });
      assert.equal(state.status, 'delivered');
    },
  },
  {
    name: 'signs with Standard Webhooks over the bytes sent',
    async run(ctx) {
      const { json } = await post(ctx, message());
      const [request] = await until(
        'the signed delivery',
        () => at(ctx, 'signed', json.id).length > 0 && at(ctx, 'signed', json.id),
      );
      assert.doesNotThrow(() => new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>));
    },
  },
  {
    name: 'sends a target only the types it asks for',
    async run(ctx) {
      const status = { ...fixture('outgoingMessageStatus.sent.apidog.json').json, idMessage: `STATUS${Date.now()}` };
      const statusId = (await post(ctx, status)).json.id;
      const messageId = (await post(ctx, message())).json.id;
      await until('both at ce', () => at(ctx, 'ce', statusId).length > 0 && at(ctx, 'ce', messageId).length > 0);
      await until('the status at statuses', () => at(ctx, 'statuses', statusId).length > 0);
      assert.equal(at(ctx, 'statuses', messageId).length, 0);
    },
  },
  {
    name: 'keeps the events of two instances apart',
    async run(ctx) {
      const mine = (await post(ctx, message(1234))).json.id;
      const other = (await post(ctx, message(Number(OTHER_INSTANCE)), OTHER_TOKEN)).json.id;
      const listed = await api(ctx, `/events?instance=${OTHER_INSTANCE}&limit=500`);
      assert.ok(listed.items.some((e: any) => e.id === other));
      assert.ok(!listed.items.some((e: any) => e.id === mine));
      assert.ok(listed.items.every((e: any) => e.instance === OTHER_INSTANCE));
    },
  },
  ...CONTROL_CASES,
  ...FORMAT_CASES,
  ...RECONCILE_CASES,
];
