// A journal entry (lastIncomingMessages, lastOutgoingMessages) -> the notification Green API would
// have posted for it, as ../shared/docs/green-api-journals.md §7 maps them. Journal entries are
// flat (text, file fields and sub-objects at the top level, no senderData or messageData); the
// webhook nests them. The rebuilt notification has the same typeWebhook, chat and idMessage as
// the webhook, so its event id is the webhook's (event.ts identity) and a webhook arriving later
// is a duplicate. Pure.

export type JournalDirection = 'incoming' | 'outgoing';

/** What Green API sends: which message webhooks are on (GetSettings), and the instance's own wid. */
export interface InstanceSettings {
  wid: string;
  incoming: boolean;
  /** outgoingMessageWebhook: messages sent from the phone or another device. */
  outgoingPhone: boolean;
  /** outgoingAPIMessageWebhook: messages sent through the API. */
  outgoingApi: boolean;
}

export type Rebuilt = { ok: true; notification: Record<string, unknown> } | { ok: false; reason: string };

/** Entry members that describe the entry, not the message: never copied into messageData. */
const ENTRY_ONLY = new Set([
  'type',
  'idMessage',
  'timestamp',
  'typeMessage',
  'chatId',
  'senderId',
  'senderName',
  'senderContactName',
  'chatType',
  'senderType',
  'statusMessage',
  'sendByApi',
  'deletedMessageId',
  'editedMessageId',
  'isEdited',
  'isDeleted',
  'quotedMessage',
]);

const FILE_TYPES = new Set(['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage']);
const FILE_FIELDS = [
  'downloadUrl',
  'caption',
  'fileName',
  'jpegThumbnail',
  'mimeType',
  'isAnimated',
  'isForwarded',
  'forwardingScore',
  'videoNote',
];

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const object = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
/** Telegram and MAX ids may be numbers. */
const idText = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

/** The typeWebhook of an entry read from the journal of `direction`, as §7 maps it. */
export function journalWebhook(entry: Record<string, unknown>, direction: JournalDirection): string {
  if (direction === 'incoming') return 'incomingMessageReceived';
  // The 2023 shape has no sendByApi; messages sent through the API are always journaled, those
  // from the phone only with outgoingMessageWebhook on, so an unmarked one is taken as the API's.
  return entry.sendByApi === false ? 'outgoingMessageReceived' : 'outgoingAPIMessageReceived';
}

/**
 * The notification `entry` would have been, or why it is not rebuilt: no chat or message id (a
 * failed send), a type whose webhook is off, or a poll vote (the journal keeps only the poll's
 * last state, and each vote state is its own event).
 */
export function rebuildNotification(
  raw: unknown,
  direction: JournalDirection,
  instance: { id: string; settings: InstanceSettings },
): Rebuilt {
  const entry = object(raw);
  if (!entry) return { ok: false, reason: 'not an object' };
  const idMessage = idText(entry.idMessage);
  const chatId = idText(entry.chatId);
  const typeMessage = text(entry.typeMessage);
  if (!idMessage || !chatId || !typeMessage) return { ok: false, reason: 'no idMessage, chatId or typeMessage' };
  if (typeMessage === 'pollUpdateMessage') return { ok: false, reason: 'poll votes are not rebuilt' };
  const typeWebhook = journalWebhook(entry, direction);
  const { settings } = instance;
  const on =
    typeWebhook === 'incomingMessageReceived'
      ? settings.incoming
      : typeWebhook === 'outgoingMessageReceived'
        ? settings.outgoingPhone
        : settings.outgoingApi;
  if (!on) return { ok: false, reason: `${typeWebhook} webhooks are off` };

  const group = chatId.endsWith('@g.us') || chatId.startsWith('-');
  const senderName = text(entry.senderName);
  const senderData: Record<string, unknown> = {
    chatId,
    // Outgoing: the instance itself. Incoming without a senderId (Telegram's personal chats): the chat.
    sender: direction === 'outgoing' ? settings.wid : (idText(entry.senderId) ?? chatId),
    // The journal names no chat; a personal chat is named after its person, a group is not known.
    chatName: group ? '' : (senderName ?? ''),
    senderName: senderName ?? '',
    senderContactName: text(entry.senderContactName) ?? '',
  };
  for (const key of ['chatType', 'senderType'] as const) if (text(entry[key])) senderData[key] = entry[key];

  const notification: Record<string, unknown> = {
    typeWebhook,
    instanceData: { idInstance: Number(instance.id), wid: settings.wid },
    timestamp: typeof entry.timestamp === 'number' ? entry.timestamp : undefined,
    idMessage,
    senderData,
    messageData: messageData(entry, typeMessage),
  };
  if (notification.timestamp === undefined) delete notification.timestamp;
  return { ok: true, notification };
}

/** The webhook's messageData of an entry: its flat fields put under the data object the type uses. */
function messageData(entry: Record<string, unknown>, typeMessage: string): Record<string, unknown> {
  const data: Record<string, unknown> = { typeMessage };
  const extended = object(entry.extendedTextMessage);
  if (typeMessage === 'textMessage') {
    data.textMessageData = { textMessage: text(entry.textMessage) ?? '' };
  } else if (typeMessage === 'extendedTextMessage' || typeMessage === 'quotedMessage') {
    // The 2023 quotedMessage keeps its words in textMessage, the link preview or quote in extendedTextMessage.
    data.extendedTextMessageData = { ...extended, text: text(extended?.text) ?? text(entry.textMessage) ?? '' };
  } else if (FILE_TYPES.has(typeMessage)) {
    const file: Record<string, unknown> = {};
    for (const key of FILE_FIELDS) if (entry[key] !== undefined) file[key] = entry[key];
    data.fileMessageData = file;
  } else if (typeMessage === 'locationMessage' || typeMessage === 'liveLocationMessage') {
    data.locationMessageData = object(entry.location) ?? {};
  } else if (typeMessage === 'contactMessage') {
    data.contactMessageData = object(entry.contact) ?? {};
  } else {
    // reactionMessage (extendedTextMessageData), pollMessage (pollMessageData), interactiveButtons,
    // deletedMessage, editedMessage and the rest keep the webhook's own keys: copied as they are.
    for (const [key, value] of Object.entries(entry)) if (!ENTRY_ONLY.has(key)) data[key] = value;
  }
  const quoted = object(entry.quotedMessage);
  if (quoted) data.quotedMessage = quoted;
  return data;
}

/** GetSettings' answer read as what reconciliation needs; null when it is not one. */
export function readSettings(answer: unknown): InstanceSettings | null {
  const s = object(answer);
  if (!s) return null;
  const yes = (key: string) => s[key] === 'yes';
  return {
    wid: text(s.wid) ?? '',
    incoming: yes('incomingWebhook'),
    outgoingPhone: yes('outgoingMessageWebhook'),
    outgoingApi: yes('outgoingAPIMessageWebhook'),
  };
}
