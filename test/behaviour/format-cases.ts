// The notification formats Green API added in 2026 (../shared/docs/green-api-webhooks.md §7,
// contract §2), each built from its documented fields, posted to the relay and read back as the
// CloudEvent a target receives. Run on every runtime with the other behaviour cases.
import assert from 'node:assert/strict';
import { at, post, until } from './helpers.ts';
import type { BehaviourCase, BehaviourContext } from './setup.ts';

let unique = 0;
const instanceData = (typeInstance: string) => ({ idInstance: 1101000790, wid: '79876543210@c.us', typeInstance });

/** A message webhook of one product, with its own idMessage. */
function messageWebhook(typeInstance: string, senderData: object, messageData: object) {
  return {
    typeWebhook: 'incomingMessageReceived',
    instanceData: instanceData(typeInstance),
    timestamp: 1_780_000_000,
    idMessage: `FORMATS${Date.now()}${unique++}`,
    senderData,
    messageData,
  };
}

/** Posts a notification and returns the CloudEvent `data` the `ce` target received. */
async function delivered(ctx: BehaviourContext, body: object): Promise<any> {
  const answer = await post(ctx, body);
  assert.equal(answer.json.status, 'accepted');
  const [request] = await until(
    'the delivery',
    () => at(ctx, 'ce', answer.json.id).length > 0 && at(ctx, 'ce', answer.json.id),
  );
  return { id: answer.json.id, ...(JSON.parse(request!.body.toString()) as object) };
}

const telegramGroup = {
  chatId: '-10000000000000',
  chatName: 'Team',
  sender: '10000000',
  senderName: 'Ann',
  chatType: 'supergroup',
  senderType: 'user',
  senderPhoneNumber: 79001234567,
};

export const FORMAT_CASES: BehaviourCase[] = [
  {
    name: 'reads the 2026 formats: incoming-message status, Telegram and MAX groups and chat types, stickers, MAX polls, video notes, quoted files',
    async run(ctx) {
      // WhatsApp incomingMessageStatus: its own type, status filled; in a group one arrives per reader.
      const status = {
        typeWebhook: 'incomingMessageStatus',
        instanceData: instanceData('whatsapp'),
        timestamp: 1_780_000_100,
        chatId: '120363043968066561@g.us',
        idMessage: `READ${Date.now()}`,
        sendByApi: false,
        status: 'read',
      };
      const read = await delivered(ctx, status);
      assert.equal(read.type, 'com.green-api.message.incoming-status');
      assert.deepEqual(read.data.status, {
        messageId: status.idMessage,
        value: 'read',
        description: null,
        sentByApi: false,
      });
      const second = await post(ctx, { ...status, timestamp: status.timestamp + 5 });
      assert.equal(second.json.status, 'accepted', 'a second reader of the same message is its own event');

      // Telegram: a group is a chat id starting with "-", its chatType kept.
      const tg = await delivered(
        ctx,
        messageWebhook('telegram', telegramGroup, {
          typeMessage: 'textMessage',
          textMessageData: { textMessage: 'hi' },
        }),
      );
      assert.deepEqual(tg.data.chat, { id: '-10000000000000', name: 'Team', isGroup: true, type: 'supergroup' });
      const personal = await delivered(
        ctx,
        messageWebhook(
          'telegram',
          { ...telegramGroup, chatId: '10000000', chatType: 'user' },
          { typeMessage: 'textMessage', textMessageData: { textMessage: 'hi' } },
        ),
      );
      assert.deepEqual(personal.data.chat, { id: '10000000', name: 'Team', isGroup: false, type: 'user' });

      // Telegram stickers under either key.
      for (const key of ['stickerMessageData', 'fileMessageData']) {
        const sticker = await delivered(
          ctx,
          messageWebhook('telegram', telegramGroup, {
            typeMessage: 'stickerMessage',
            [key]: {
              downloadUrl: 'https://4100.api.green-api.com/download/4100/a6679d42.tgs',
              fileName: 'AnimatedSticker.tgs',
              mimeType: 'application/x-tgsticker',
              isAnimated: true,
            },
          }),
        );
        assert.equal(sticker.data.message.kind, 'sticker', key);
        assert.deepEqual(
          sticker.data.message.media,
          {
            url: 'https://4100.api.green-api.com/download/4100/a6679d42.tgs',
            mimeType: 'application/x-tgsticker',
            fileName: 'AnimatedSticker.tgs',
            caption: null,
            videoNote: null,
          },
          key,
        );
      }

      // MAX: a group id starts with "-" too; polls say whether an answer may change.
      const poll = await delivered(
        ctx,
        messageWebhook(
          'v3',
          { chatId: '-68123456789012', sender: '10000000', senderName: 'Ann' },
          {
            typeMessage: 'pollMessage',
            pollMessageData: {
              name: 'Lunch?',
              options: [{ optionName: 'Yes' }, { optionName: 'No' }],
              allowToChangeAnswer: true,
            },
          },
        ),
      );
      assert.equal(poll.data.chat.isGroup, true);
      assert.equal(poll.data.message.kind, 'poll');
      assert.equal(poll.data.message.poll.allowToChangeAnswer, true);
      assert.deepEqual(poll.data.message.poll.options, ['Yes', 'No']);

      // WhatsApp: an instant video message.
      const note = await delivered(
        ctx,
        messageWebhook(
          'whatsapp',
          { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
          {
            typeMessage: 'videoMessage',
            fileMessageData: {
              downloadUrl: 'https://sw-media.storage.example/1.mp4',
              mimeType: 'video/mp4',
              videoNote: true,
            },
          },
        ),
      );
      assert.equal(note.data.message.media.videoNote, true);

      // WhatsApp: a reply quoting a file arrives with an empty link: url null, the file still described.
      const reply = await delivered(
        ctx,
        messageWebhook(
          'whatsapp',
          { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
          {
            typeMessage: 'quotedMessage',
            extendedTextMessageData: { text: 'this one', stanzaId: 'BAE5QUOTED', participant: '79001234567@c.us' },
            quotedMessage: {
              stanzaId: 'BAE5QUOTED',
              participant: '79001234567@c.us',
              typeMessage: 'imageMessage',
              downloadUrl: '',
              caption: 'the photo',
              mimeType: 'image/jpeg',
            },
          },
        ),
      );
      assert.equal(reply.data.message.text, 'this one');
      assert.deepEqual(reply.data.message.replyTo, {
        id: 'BAE5QUOTED',
        participant: '79001234567@c.us',
        media: { url: null, mimeType: 'image/jpeg', fileName: null, caption: 'the photo', videoNote: null },
      });
    },
  },
];
