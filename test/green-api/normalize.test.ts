// Normalization (contract §2) field by field, on Green API's own examples and on the variants its
// docs and SDKs disagree about.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/event.ts';
import { NotificationHeader } from '../../src/green-api/schema.ts';
import { fixture } from '../helpers/fixtures.ts';

const at = new Date('2026-01-02T03:04:05.000Z');
const event = (json: Record<string, unknown>) => buildEvent(json, NotificationHeader.parse(json), at);
const of = async (name: string) => (await event(fixture(name).json)).data;
const withMessage = (messageData: object, base = fixture('incomingMessageReceived.textMessage.json').json) =>
  event({ ...base, messageData });

describe('the header', () => {
  it('has the CloudEvents attributes of contract §2', async () => {
    const e = await event(fixture('incomingMessageReceived.textMessage.json').json);
    expect(e).toMatchObject({
      specversion: '1.0',
      source: '/green-api/instances/1234',
      type: 'com.green-api.message.received',
      subject: '79001234568@c.us',
      time: '2020-04-28T16:33:00.000Z',
      datacontenttype: 'application/json',
      greenapiinstance: '1234',
      greenapiwebhook: 'incomingMessageReceived',
    });
    expect(e.data.receivedAt).toBe(at.toISOString());
  });

  it('uses the receive time when there is no timestamp, and leaves out subject when there is no chat', async () => {
    const e = await event(fixture('docbug.incomingBlock-carrying-quotaData.apidog.json').json);
    expect(e.time).toBe(at.toISOString());
    expect('subject' in e).toBe(false);
  });

  it('reads the instance, turning an empty wid into null', async () => {
    expect((await of('stateInstanceChanged.notAuthorized.empty-wid.json')).instance).toEqual({
      id: '1',
      wid: null,
      kind: 'whatsapp',
    });
    expect((await of('incomingMessageReceived.textMessage.json')).instance).toEqual({
      id: '1234',
      wid: '11001234567@c.us',
      kind: 'whatsapp',
    });
  });
});

describe('message webhooks', () => {
  it('reads chat, sender and who sent it', async () => {
    const data = await of('incomingMessageReceived.interactiveButtons.reply-buttons.apidog.json');
    expect(data.chat).toEqual({ id: '71234567890@c.us', name: 'Green API', isGroup: false, type: null });
    expect(data.sender).toEqual({ id: '71234567890@c.us', name: 'Green API', contactName: 'Green API inContacts' });
    expect(data.message!.sentBy).toBeNull();
    expect((await of('outgoingMessageReceived.schematic.json')).message!.sentBy).toBe('phone');
    expect((await of('outgoingAPIMessageReceived.schematic.json')).message!.sentBy).toBe('api');
  });

  it('marks group chats', async () => {
    const base = fixture('incomingMessageReceived.textMessage.json').json;
    const e = await event({ ...base, senderData: { chatId: '120363043968066561@g.us', sender: '79001234568@c.us' } });
    expect(e.data.chat).toEqual({ id: '120363043968066561@g.us', name: null, isGroup: true, type: null });
  });

  it('reads media with caption and download URL', async () => {
    const { message } = await of('incomingMessageReceived.imageMessage.json');
    expect(message).toMatchObject({
      kind: 'image',
      text: 'Image',
      forwarded: true,
      media: {
        url: 'https://api.green-api.com/waInstance1234/downloadFile/19136A974392FA8CF584D70DD0E1AEDF',
        mimeType: 'image/jpeg',
        caption: 'Image',
      },
    });
  });

  it('reads a location', async () => {
    const { message } = await of('incomingMessageReceived.locationMessage.json');
    expect(message!.location).toEqual({
      latitude: 12.345678910111213,
      longitude: 14.151617181920212,
      name: null,
      address: null,
    });
  });

  it('reads contacts from contactMessage and from both nestings of contactsArrayMessage', async () => {
    expect((await of('incomingMessageReceived.contactMessage.json')).message!.contacts).toEqual([
      { name: 'Victor Andreevich', vcard: expect.stringContaining('BEGIN:VCARD') },
    ]);
    const direct = (await of('incomingMessageReceived.contactsArrayMessage.json')).message!;
    expect(direct.contacts!.map((c) => c.name)).toEqual(['Victor Andreevich', 'Oleg edrosovich']);
    const nested = await withMessage({
      typeMessage: 'contactsArrayMessage',
      messageData: { contacts: [{ displayName: 'Ann', vcard: 'V' }] },
    });
    expect(nested.data.message).toMatchObject({ kind: 'contact', contacts: [{ name: 'Ann', vcard: 'V' }] });
  });

  it('links replies, reactions, edits and deletions to the message they are about', async () => {
    expect((await of('incomingMessageReceived.quotedMessage.quoting-text.json')).message!.replyTo).toEqual({
      id: '9A73322488DCB7D9689A6112F2528C9D',
      participant: '79001234568@c.us',
      media: null,
    });
    expect((await of('incomingMessageReceived.reactionMessage.json')).message).toMatchObject({
      kind: 'reaction',
      text: '👍',
      replyTo: { id: 'A16014FAC9F5382E7B9CEEFEF1FFEB6F', participant: '79001234568@c.us' },
    });
    expect((await of('incomingMessageReceived.editedMessage.apidog.json')).message).toMatchObject({
      kind: 'edit',
      text: 'New message',
      replyTo: { id: 'BAE5AFC355030F7A' },
    });
    const deleted = await withMessage({ typeMessage: 'deletedMessage', deletedMessageData: { stanzaId: 'GONE1' } });
    expect(deleted.data.message).toMatchObject({
      kind: 'delete',
      text: null,
      replyTo: { id: 'GONE1', participant: null },
    });
  });

  it('reads polls in the 2023 and current shapes, and poll votes', async () => {
    expect((await of('incomingMessageReceived.pollMessage.2023-pollCreationMessage.json')).message!.poll).toEqual({
      name: 'Poll Name',
      options: ['Variant 1', 'Variant 2'],
      multipleAnswers: true,
      allowToChangeAnswer: null,
      votes: null,
    });
    const vote = await withMessage({
      typeMessage: 'pollUpdateMessage',
      pollMessageData: {
        stanzaId: 'POLL1',
        name: 'Lunch?',
        votes: [{ optionName: 'Pizza', optionVoters: ['1@c.us'] }],
        multipleAnswers: false,
      },
    });
    expect(vote.data.message).toMatchObject({
      kind: 'poll-vote',
      text: 'Lunch?',
      replyTo: { id: 'POLL1' },
      poll: { name: 'Lunch?', multipleAnswers: false, votes: [{ option: 'Pizza', voters: ['1@c.us'] }] },
    });
  });

  it('reads button, list and template replies in both spellings', async () => {
    expect((await of('incomingMessageReceived.buttonsResponseMessage.json')).message!.choice).toEqual({
      id: '1',
      text: 'Green',
    });
    expect((await of('incomingMessageReceived.listResponseMessage.json')).message!.choice).toEqual({
      id: 'option2',
      text: 'Option 2',
    });
    expect((await of('incomingMessageReceived.templateButtonsReplyMessage.json')).message!.choice).toEqual({
      id: 'id1',
      text: 'red',
    });
    const plural = await withMessage({
      typeMessage: 'templateButtonsReplyMessage',
      templateButtonReplyMessage: { stanzaId: 'S', selectedId: 'b', selectedDisplayText: 'Blue' },
    });
    expect(plural.data.message).toMatchObject({
      kind: 'button-reply',
      text: 'Blue',
      choice: { id: 'b', text: 'Blue' },
      replyTo: { id: 'S' },
    });
  });

  it('survives members of the wrong type, reading them as absent', async () => {
    const odd = await withMessage({
      typeMessage: 'imageMessage',
      fileMessageData: { downloadUrl: 42, caption: ['x'], mimeType: 'image/png' },
    });
    expect(odd.data.message).toMatchObject({
      kind: 'image',
      text: null,
      media: { url: null, caption: null, mimeType: 'image/png' },
    });
    const noData = await event({
      ...fixture('incomingMessageReceived.textMessage.json').json,
      senderData: 'nope',
      messageData: null,
    });
    expect(noData.data).toMatchObject({ chat: null, sender: null, message: { kind: 'unknown', typeMessage: null } });
  });
});

describe('other webhooks', () => {
  it('reads outgoing message statuses, with or without chatId', async () => {
    expect(await of('outgoingMessageStatus.sent.apidog.json')).toMatchObject({
      chat: { id: '71231234567@c.us' },
      message: null,
      status: { messageId: 'ECE6BBEA514B66872790C3D9D52C5C19', value: 'sent', description: null, sentByApi: true },
    });
    expect(await of('outgoingMessageStatus.noAccount.json')).toMatchObject({
      chat: null,
      status: { value: 'noAccount', messageId: '3EB0608D6A2901063D63' },
    });
  });

  it('reads instance state and status verbatim', async () => {
    expect((await of('stateInstanceChanged.notAuthorized.json')).state).toBe('notAuthorized');
    expect((await of('statusInstanceChanged.online.json')).state).toBe('online');
  });

  it('reads calls, with and without a status', async () => {
    expect(await of('incomingCall.2023-no-status.json')).toMatchObject({
      chat: { id: '79001234500@c.us' },
      sender: { id: '79001234500@c.us' },
      call: { id: '104179EDB7F5328988D8834107EEBE50', from: '79001234500@c.us', status: null },
    });
    const outgoing = await event({
      ...fixture('incomingCall.2023-no-status.json').json,
      typeWebhook: 'outgoingCall',
      status: 'pickUp',
      isVideo: true,
      duration: 12,
    });
    expect(outgoing.type).toBe('com.green-api.call.outgoing');
    expect(outgoing.data.call).toEqual({
      id: '104179EDB7F5328988D8834107EEBE50',
      from: '79001234500@c.us',
      status: 'pickUp',
      isVideo: true,
      duration: 12,
    });
  });

  it('reads quota, blocks and keeps every field null that does not apply', async () => {
    expect((await of('quotaExceeded.json')).quota).toMatchObject({
      method: 'correspondents',
      used: 3,
      total: 3,
      status: 'CORRESPONDENTS_QUOTA_EXCEEDED',
    });
    const block = await of('incomingBlock.json');
    expect(block).toMatchObject({
      chat: { id: '10000000000@c.us' },
      message: null,
      status: null,
      state: null,
      call: null,
      quota: null,
      sender: null,
    });
  });
});
