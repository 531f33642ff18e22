// Journal entries -> the notifications their webhooks would have been (green-api-journals.md §7),
// on every journal example in ../shared/fixtures/green-api-journals/: each rebuilt notification
// normalizes to the message the entry describes, and its event id is the id any webhook with the
// same typeWebhook, chat and idMessage gets, so a webhook that does come is a duplicate.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/event.ts';
import { rebuildNotification, readSettings, type JournalDirection } from '../../src/green-api/journal.ts';
import { NotificationHeader } from '../../src/green-api/schema.ts';

const DIR = fileURLToPath(new URL('../../../shared/fixtures/green-api-journals/', import.meta.url));
const INSTANCE = '1101000001';
const SETTINGS = readSettings({
  wid: '79876543210@c.us',
  incomingWebhook: 'yes',
  outgoingMessageWebhook: 'yes',
  outgoingAPIMessageWebhook: 'yes',
})!;
const at = new Date('2026-12-01T00:00:00Z');
const event = (json: Record<string, unknown>) => buildEvent(json, NotificationHeader.parse(json), at);

/** Every entry of the journal examples, with the direction its journal gives it. */
function entries(): { file: string; entry: Record<string, unknown>; direction: JournalDirection }[] {
  return readdirSync(DIR)
    .filter((f) => /^(lastIncomingMessages|lastOutgoingMessages|getChatHistory|getMessage)\..*\.json$/.test(f))
    .sort()
    .flatMap((file) => {
      const json = JSON.parse(readFileSync(DIR + file, 'utf8')) as unknown;
      return (Array.isArray(json) ? json : [json]).map((entry: Record<string, unknown>) => ({
        file,
        entry,
        direction: (entry.type ?? (file.startsWith('lastOutgoing') ? 'outgoing' : 'incoming')) as JournalDirection,
      }));
    });
}

/** The kind of each typeMessage (contract §2), and the text read from the entry's own fields, not through the code under test. */
const EXPECTED: Record<string, string> = {
  textMessage: 'text',
  extendedTextMessage: 'text',
  quotedMessage: 'text',
  imageMessage: 'image',
  reactionMessage: 'reaction',
  locationMessage: 'location',
  contactMessage: 'contact',
  pollMessage: 'poll',
  interactiveButtons: 'interactive',
};
function expectedText(e: Record<string, any>): string | null {
  const t =
    e.typeMessage === 'reactionMessage'
      ? e.extendedTextMessageData?.text
      : e.typeMessage === 'pollMessage'
        ? e.pollMessageData?.name
        : e.typeMessage === 'interactiveButtons'
          ? e.interactiveButtons?.contentText
          : e.typeMessage === 'imageMessage'
            ? e.caption
            : (e.extendedTextMessage?.text ?? e.textMessage);
  return t ? t : null;
}

describe('journal entries rebuilt as the webhooks they would have been', () => {
  const all = entries();

  it('reads every journal example (the 31 files besides downloadFile), and finds every kind of entry they hold', () => {
    expect(new Set(all.map((e) => e.file)).size).toBe(31);
    expect(new Set(all.map((e) => e.entry.typeMessage))).toEqual(
      new Set(Object.keys(EXPECTED).concat('pollUpdateMessage')),
    );
  });

  for (const { file, entry, direction } of entries()) {
    const name = `${file} ${String(entry.typeMessage)} ${String(entry.idMessage)}`;
    it(`rebuilds ${name}`, async () => {
      const rebuilt = rebuildNotification(entry, direction, { id: INSTANCE, settings: SETTINGS });
      if (entry.typeMessage === 'pollUpdateMessage') {
        // Each vote state is its own event, and the journal keeps only the last one.
        expect(rebuilt).toEqual({ ok: false, reason: 'poll votes are not rebuilt' });
        return;
      }
      if (!rebuilt.ok) throw new Error(rebuilt.reason);
      const n = rebuilt.notification as any;
      const webhook =
        direction === 'incoming'
          ? 'incomingMessageReceived'
          : entry.sendByApi === false
            ? 'outgoingMessageReceived'
            : 'outgoingAPIMessageReceived';
      expect(n.typeWebhook).toBe(webhook);
      expect(n.idMessage).toBe(entry.idMessage);
      expect(n.timestamp).toBe(entry.timestamp);
      expect(n.senderData.chatId).toBe(entry.chatId);
      expect(n.senderData.sender).toBe(direction === 'outgoing' ? SETTINGS.wid : (entry.senderId ?? entry.chatId));

      const e = await event(n);
      expect(e.data.message!.kind).toBe(EXPECTED[entry.typeMessage as string]);
      expect(e.data.message!.text).toBe(expectedText(entry));
      expect(e.data.message!.sentBy).toBe(
        direction === 'incoming' ? null : entry.sendByApi === false ? 'phone' : 'api',
      );

      // The id of the webhook Green API would have posted: only these fields make it (contract §3).
      const minimal = {
        typeWebhook: webhook,
        instanceData: { idInstance: Number(INSTANCE), wid: SETTINGS.wid, typeInstance: 'whatsapp' },
        timestamp: 1,
        idMessage: entry.idMessage,
        senderData: { chatId: entry.chatId, sender: 'someone@c.us' },
        messageData: { typeMessage: entry.typeMessage },
      };
      expect(e.id).toBe((await event(minimal)).id);
    });
  }

  it('rebuilds the fields of each type as the webhook carries them', async () => {
    const one = (file: string) => JSON.parse(readFileSync(DIR + file, 'utf8')) as Record<string, unknown>;
    const data = async (file: string) => {
      const entry = one(file);
      const rebuilt = rebuildNotification(entry, entry.type as JournalDirection, { id: INSTANCE, settings: SETTINGS });
      return (await event((rebuilt as { notification: Record<string, unknown> }).notification)).data;
    };
    expect((await data('getMessage.incoming-image.json')).message).toMatchObject({
      kind: 'image',
      text: 'What do you think?',
      media: {
        url: 'https://api.green-api.com/waInstance1234/downloadFile/EA1BD1AE042DC4F3609867126309D67C.jpg',
        mimeType: 'image/jpeg',
        fileName: '03963bac-6020-423c-80df-1aa123456789.jpg',
        caption: 'What do you think?',
      },
      forwarded: true,
    });
    expect((await data('getMessage.incoming-location.json')).message!.location).toEqual({
      latitude: 51.128,
      longitude: 71.430762,
      name: 'Cafe',
      address: 'Astana',
    });
    expect((await data('getMessage.incoming-contact.json')).message!.contacts).toEqual([
      { name: 'Anastasia', vcard: expect.stringContaining('FN:Anastasia') },
    ]);
    expect((await data('getMessage.incoming-reaction.json')).message!.replyTo).toMatchObject({
      id: expect.any(String),
    });
    expect((await data('getMessage.incoming-quoted.json')).message!.replyTo).toEqual({
      id: '46618B98B3B9DF50F123456789123456',
      participant: '70000000012@c.us',
      media: null,
    });
    expect((await data('getMessage.incoming-poll.json')).message!.poll).toMatchObject({
      name: 'Choose your favorite color',
      options: ['Red', 'Green'],
      multipleAnswers: true,
    });
    const group = await data('getMessage.incoming-image.json');
    expect(group.chat).toEqual({ id: '120363153000000000@g.us', name: null, isGroup: true, type: null });
    expect(group.sender).toEqual({ id: '70000000012@c.us', name: 'Rachel', contactName: 'Rachel 2' });
  });

  it('leaves out what it should not rebuild: a failed send, and types whose webhook is off', () => {
    expect(
      rebuildNotification({ type: 'outgoing', typeMessage: '' }, 'outgoing', { id: INSTANCE, settings: SETTINGS }).ok,
    ).toBe(false);
    const entry = { type: 'outgoing', idMessage: 'A1', chatId: '1@c.us', typeMessage: 'textMessage', sendByApi: false };
    expect(
      rebuildNotification(entry, 'outgoing', { id: INSTANCE, settings: { ...SETTINGS, outgoingPhone: false } }),
    ).toEqual({ ok: false, reason: 'outgoingMessageReceived webhooks are off' });
    expect(
      rebuildNotification({ ...entry, sendByApi: true }, 'outgoing', {
        id: INSTANCE,
        settings: { ...SETTINGS, outgoingPhone: false },
      }).ok,
    ).toBe(true);
  });
});
