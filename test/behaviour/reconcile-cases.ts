// Reconciliation from Green API's journals (issue 15), on every runtime: a stand-in Green API (the
// sink, under /green-api) whose webhook loses a fifth of the messages it also lists in its
// journals. After a pass every message is delivered exactly once to a `raw` and a `cloudevents`
// target, the recovered ones marked; a late webhook for a recovered one is a duplicate; a 429
// from the journal is waited out.
import assert from 'node:assert/strict';
import { api, post, until } from './helpers.ts';
import { JOURNALS, RECONCILED_INSTANCE, type BehaviourCase, type BehaviourContext } from './setup.ts';

const WID = '79876543210@c.us';
const instanceData = { idInstance: RECONCILED_INSTANCE, wid: WID, typeInstance: 'whatsapp' };

type Kind = 'in-text' | 'in-image' | 'out-api' | 'out-phone';
const KINDS: Kind[] = ['in-text', 'in-image', 'out-api', 'out-phone', 'in-text'];

/** A message as Green API would post it by webhook and list it in its journal, each written by hand from the docs. */
function message(i: number, kind: Kind, timestamp: number) {
  const idMessage = `RECONCILE${timestamp}${i}`;
  const chatId = `7900000000${i % 3}@c.us`;
  const text = `message ${i}`;
  const flags = { deletedMessageId: '', editedMessageId: '', isEdited: false, isDeleted: false };
  if (kind === 'in-text' || kind === 'in-image') {
    const image = kind === 'in-image';
    const file = { downloadUrl: `https://media.example/${idMessage}.jpg`, caption: text, mimeType: 'image/jpeg' };
    return {
      idMessage,
      webhook: {
        typeWebhook: 'incomingMessageReceived',
        instanceData,
        timestamp,
        idMessage,
        senderData: { chatId, chatName: 'Ann', sender: chatId, senderName: 'Ann', senderContactName: '' },
        messageData: image
          ? { typeMessage: 'imageMessage', fileMessageData: file }
          : { typeMessage: 'textMessage', textMessageData: { textMessage: text } },
      },
      direction: 'incoming' as const,
      entry: {
        type: 'incoming',
        idMessage,
        timestamp,
        typeMessage: image ? 'imageMessage' : 'textMessage',
        chatId,
        ...(image ? file : { textMessage: text }),
        senderId: chatId,
        senderName: 'Ann',
        senderContactName: '',
        ...flags,
      },
    };
  }
  const api = kind === 'out-api';
  return {
    idMessage,
    webhook: {
      typeWebhook: api ? 'outgoingAPIMessageReceived' : 'outgoingMessageReceived',
      instanceData,
      timestamp,
      idMessage,
      senderData: { chatId, chatName: 'Ann', sender: WID, senderName: '' },
      messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: text } },
    },
    direction: 'outgoing' as const,
    entry: {
      type: 'outgoing',
      idMessage,
      timestamp,
      typeMessage: 'textMessage',
      chatId,
      textMessage: text,
      statusMessage: 'sent',
      sendByApi: api,
      ...flags,
    },
  };
}

/** The requests a target received for the message `idMessage`. */
function receivedBy(ctx: BehaviourContext, target: string, idMessage: string) {
  return ctx.requests.filter((r) => {
    if (r.path !== `/${target}`) return false;
    const body = JSON.parse(r.body.toString()) as any;
    return (target === 'raw' ? body.idMessage : body.data?.message?.id) === idMessage;
  });
}

export const RECONCILE_CASES: BehaviourCase[] = [
  {
    name: "recovers what the webhook lost from Green API's journals: each message once to raw and cloudevents targets, marked, a late webhook a duplicate, a 429 waited out",
    async run(ctx) {
      const now = Math.floor(Date.now() / 1000) - 30;
      const messages = Array.from({ length: 15 }, (_, i) => message(i, KINDS[i % KINDS.length]!, now + i));
      const lost = new Set([1, 7, 13]); // an incoming image, an outgoing API message, one sent from the phone
      const ids = new Map<string, string>();
      for (const [i, m] of messages.entries()) {
        if (lost.has(i)) continue;
        const answer = await post(ctx, m.webhook);
        assert.equal(answer.json.status, 'accepted');
        ids.set(m.idMessage, answer.json.id);
      }
      // The journal has them all; its first answer is Green API's rate limiter.
      JOURNALS.failNext('lastIncomingMessages', 1, 429);
      for (const m of messages) (m.direction === 'incoming' ? JOURNALS.incoming : JOURNALS.outgoing).push(m.entry);

      await until(
        'every message at both targets',
        () =>
          messages.every(
            (m) => receivedBy(ctx, 'raw', m.idMessage).length > 0 && receivedBy(ctx, 'ce', m.idMessage).length > 0,
          ),
        60_000,
      );
      // Another pass or two, to show that they change nothing.
      const passes = JOURNALS.calls.filter((c) => c === 'lastOutgoingMessages').length;
      await until(
        'two more passes',
        () => JOURNALS.calls.filter((c) => c === 'lastOutgoingMessages').length >= passes + 2,
        30_000,
      );

      for (const [i, m] of messages.entries()) {
        const [raw, ...rawMore] = receivedBy(ctx, 'raw', m.idMessage);
        const [ce, ...ceMore] = receivedBy(ctx, 'ce', m.idMessage);
        assert.equal(rawMore.length + ceMore.length, 0, `message ${i} arrived once at each target`);
        const event = JSON.parse(ce!.body.toString()) as any;
        if (!lost.has(i)) {
          assert.equal(event.data.recovered, null, `message ${i} came by webhook`);
          assert.equal(event.id, ids.get(m.idMessage));
          continue;
        }
        // Recovered: marked, raw is the journal entry, the raw target gets the notification rebuilt.
        assert.equal(event.data.recovered, 'journal', `message ${i} is recovered`);
        assert.deepEqual(event.data.raw, m.entry);
        assert.equal(
          event.type,
          m.direction === 'incoming' ? 'com.green-api.message.received' : 'com.green-api.message.sent',
        );
        assert.equal(event.data.message.text, `message ${i}`);
        const rebuilt = JSON.parse(raw!.body.toString()) as any;
        assert.equal(rebuilt.typeWebhook, m.webhook.typeWebhook);
        assert.deepEqual(rebuilt.senderData.chatId, m.webhook.senderData.chatId);
        assert.deepEqual(rebuilt.messageData, m.webhook.messageData);
        // The webhook that finally comes is the same event.
        const late = await post(ctx, m.webhook);
        assert.deepEqual(late.json, { status: 'duplicate', id: event.id }, `late webhook of message ${i}`);
        const listed = await api(ctx, `/events/${event.id}`);
        assert.equal(listed.recovered, true);
      }
      // The 429 was waited out, not taken for an empty journal.
      const first429 = JOURNALS.calls.indexOf('lastIncomingMessages 429');
      assert.ok(first429 >= 0 && JOURNALS.calls.indexOf('lastIncomingMessages', first429) > first429);
      // Left empty for the next relay this process starts (Deno runs the cases on two stores).
      JOURNALS.incoming.length = 0;
      JOURNALS.outgoing.length = 0;
    },
  },
];
