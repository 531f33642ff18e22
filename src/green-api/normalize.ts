// Notification -> the event's `data` (contract §2). Pure: no I/O, no clock (the receive time is
// passed in), no failure for any body that passed the NotificationHeader check.
import {
  CallNotification,
  IncomingBlock,
  MessageNotification,
  MESSAGE_WEBHOOKS,
  OutgoingMessageStatus,
  QuotaExceeded,
  StateInstanceChanged,
  StatusInstanceChanged,
  type NotificationHeader,
  type MessageData,
} from './schema.ts';

export type MessageKind =
  | 'text'
  | 'image'
  | 'video'
  | 'audio'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contact'
  | 'reaction'
  | 'poll'
  | 'poll-vote'
  | 'edit'
  | 'delete'
  | 'group-invite'
  | 'interactive'
  | 'button-reply'
  | 'unknown';

export interface Message {
  id: string | null;
  typeMessage: string | null;
  kind: MessageKind;
  sentBy: 'phone' | 'api' | null;
  text: string | null;
  media: Media | null;
  location: { latitude: number | null; longitude: number | null; name: string | null; address: string | null } | null;
  contacts: { name: string | null; vcard: string | null }[] | null;
  /** The message this one quotes, reacts to, edits, deletes, votes in or answers; `media` when it quotes a file. */
  replyTo: { id: string; participant: string | null; media: Media | null } | null;
  forwarded: boolean;
  /** pollMessage and pollUpdateMessage: the question, its options and (for a vote) who chose what. */
  poll: {
    name: string | null;
    options: string[];
    multipleAnswers: boolean | null;
    /** MAX: whether a voter may change their answer. */
    allowToChangeAnswer: boolean | null;
    votes: { option: string | null; voters: string[] }[] | null;
  } | null;
  /** button-reply: the id and text of the button, list row or template button chosen. */
  choice: { id: string | null; text: string | null } | null;
}

/** A file: `url` is null when Green API sent none (quoted files arrive with an empty link). */
export interface Media {
  url: string | null;
  mimeType: string | null;
  fileName: string | null;
  caption: string | null;
  /** WhatsApp: an instant video message; null when not said. */
  videoNote: boolean | null;
}

export interface EventData {
  /** "journal": rebuilt from Green API's journal, its webhook never came (then `raw` is the journal entry). First, see event.ts eventTexts. */
  recovered: 'journal' | null;
  webhook: string;
  instance: { id: string; wid: string | null; kind: string | null };
  receivedAt: string;
  /** `type`: Telegram's chatType (user, group, supergroup, channel, bot), else null. */
  chat: { id: string; name: string | null; isGroup: boolean; type: string | null } | null;
  sender: { id: string; name: string | null; contactName: string | null } | null;
  message: Message | null;
  status: {
    messageId: string | null;
    value: string | null;
    description: string | null;
    sentByApi: boolean | null;
  } | null;
  state: string | null;
  call: {
    id: string | null;
    from: string | null;
    status: string | null;
    isVideo: boolean | null;
    duration: number | null;
  } | null;
  quota: {
    method: string | null;
    used: number | null;
    total: number | null;
    status: string | null;
    description: string | null;
  } | null;
  raw: unknown;
}

type Fields = Partial<Pick<Message, 'text' | 'media' | 'location' | 'contacts' | 'poll' | 'choice'>> & {
  stanzaId?: string;
};
type Reader = (m: MessageData) => Fields;

type FileFields = NonNullable<MessageData['fileMessageData']>;
const media = (d: FileFields | undefined): Media => ({
  url: words(d?.downloadUrl),
  mimeType: words(d?.mimeType),
  fileName: words(d?.fileName),
  caption: words(d?.caption),
  videoNote: d?.videoNote ?? null,
});
const file: Reader = ({ fileMessageData: d }) => ({ text: d?.caption, media: media(d) });
/** Telegram's English pages put a sticker under stickerMessageData, its Russian ones under fileMessageData. */
const sticker: Reader = (m) => file({ fileMessageData: m.stickerMessageData ?? m.fileMessageData });
const extendedText: Reader = ({ extendedTextMessageData: d }) => ({ text: d?.text, stanzaId: d?.stanzaId });
const location: Reader = ({ locationMessageData: d }) => ({
  location: {
    latitude: d?.latitude ?? null,
    longitude: d?.longitude ?? null,
    name: d?.nameLocation ?? null,
    address: d?.address ?? null,
  },
});
const contact: Reader = ({ contactMessageData: d }) => ({
  contacts: [
    {
      name: d?.displayName ?? (words([d?.firstName, d?.lastName].filter(Boolean).join(' ')) || null),
      vcard: d?.vcard ?? null,
    },
  ],
});
const contactsArray: Reader = (m) => ({
  contacts: (m.contacts ?? m.messageData?.contacts ?? []).flatMap((c) =>
    c ? [{ name: c.displayName ?? null, vcard: c.vcard ?? null }] : [],
  ),
});
const poll: Reader = (m) => {
  const d = m.pollMessageData ?? m.pollCreationMessage;
  const votes = d?.votes?.flatMap((v) =>
    v ? [{ option: v.optionName ?? null, voters: (v.optionVoters ?? []).filter((x) => typeof x === 'string') }] : [],
  );
  return {
    text: d?.name,
    stanzaId: d?.stanzaId,
    poll: {
      name: d?.name ?? null,
      options: (d?.options ?? []).flatMap((o) => (o?.optionName !== undefined ? [o.optionName] : [])),
      multipleAnswers:
        d?.multipleAnswers ?? (d?.selectableOptionsCount !== undefined ? d.selectableOptionsCount !== 1 : null),
      allowToChangeAnswer: d?.allowToChangeAnswer ?? null,
      votes: votes ?? null,
    },
  };
};
const interactive =
  (pick: (m: MessageData) => { contentText?: string; body?: string } | undefined): Reader =>
  (m) => {
    const d = pick(m);
    return { text: d?.contentText ?? d?.body };
  };
const choice = (text: string | undefined, id: string | undefined, stanzaId: string | undefined): Fields => ({
  text,
  stanzaId,
  choice: { id: id ?? null, text: text ?? null },
});

/** typeMessage (lower-cased: Green API's examples disagree on capitals) -> kind and reader. */
const MESSAGE_TYPES: Record<string, [MessageKind, Reader]> = {
  textmessage: ['text', (m) => ({ text: m.textMessageData?.textMessage })],
  extendedtextmessage: ['text', extendedText],
  quotedmessage: ['text', extendedText],
  imagemessage: ['image', file],
  videomessage: ['video', file],
  audiomessage: ['audio', file],
  documentmessage: ['document', file],
  stickermessage: ['sticker', sticker],
  locationmessage: ['location', location],
  livelocationmessage: ['location', location],
  contactmessage: ['contact', contact],
  contactsarraymessage: ['contact', contactsArray],
  reactionmessage: ['reaction', extendedText],
  pollmessage: ['poll', poll],
  pollupdatemessage: ['poll-vote', poll],
  editedmessage: [
    'edit',
    ({ editedMessageData: d }) => ({ text: d?.textMessage ?? d?.caption, stanzaId: d?.stanzaId }),
  ],
  deletedmessage: ['delete', ({ deletedMessageData: d }) => ({ stanzaId: d?.stanzaId })],
  groupinvitemessage: ['group-invite', ({ groupInviteMessageData: d }) => ({ text: d?.caption })],
  buttonsmessage: ['interactive', interactive((m) => m.buttonsMessage)],
  listmessage: ['interactive', interactive((m) => m.listMessage)],
  templatemessage: ['interactive', interactive((m) => m.templateMessage)],
  interactivebuttons: ['interactive', interactive((m) => m.interactiveButtons)],
  interactivebuttonsreply: ['interactive', interactive((m) => m.interactiveButtonsReply)],
  buttonsresponsemessage: [
    'button-reply',
    ({ buttonsResponseMessage: d }) => choice(d?.selectedButtonText, d?.selectedButtonId, d?.stanzaId),
  ],
  listresponsemessage: [
    'button-reply',
    ({ listResponseMessage: d }) => choice(d?.title, d?.singleSelectReply ?? d?.rowId, d?.stanzaId),
  ],
  templatebuttonsreplymessage: ['button-reply', templateReply],
  templatebuttonreplymessage: ['button-reply', templateReply],
};

const UNKNOWN: [MessageKind, Reader] = ['unknown', () => ({})];

function templateReply(m: MessageData): Fields {
  const d = m.templateButtonReplyMessage ?? m.templateButtonsReplyMessage;
  return choice(d?.selectedDisplayText, d?.selectedId, d?.stanzaId);
}

/** Empty strings carry no words: Green API sends "" for absent captions and names. */
function words(value: string | undefined | null): string | null {
  return value ? value : null;
}

/** The event `data` of a notification that passed the NotificationHeader check. */
export function normalize(raw: Record<string, unknown>, header: NotificationHeader, receivedAt: Date): EventData {
  const webhook = header.typeWebhook;
  const { idInstance, wid, typeInstance } = header.instanceData;
  const data: EventData = {
    recovered: null,
    webhook,
    instance: { id: String(idInstance), wid: words(wid), kind: typeInstance ?? null },
    receivedAt: receivedAt.toISOString(),
    chat: null,
    sender: null,
    message: null,
    status: null,
    state: null,
    call: null,
    quota: null,
    raw,
  };

  let chatId: string | undefined;
  let chatName: string | undefined;
  let chatType: string | undefined;
  if ((MESSAGE_WEBHOOKS as readonly string[]).includes(webhook)) {
    const n = MessageNotification.parse(raw);
    chatId = n.senderData?.chatId;
    chatName = n.senderData?.chatName;
    chatType = n.senderData?.chatType;
    if (n.senderData?.sender) {
      data.sender = {
        id: n.senderData.sender,
        name: words(n.senderData.senderName),
        contactName: words(n.senderData.senderContactName),
      };
    }
    data.message = message(n.idMessage, n.messageData ?? {}, webhook);
  } else if (webhook === 'outgoingMessageStatus' || webhook === 'incomingMessageStatus') {
    const n = OutgoingMessageStatus.parse(raw);
    chatId = n.chatId;
    data.status = {
      messageId: n.idMessage ?? null,
      value: n.status ?? null,
      description: words(n.description),
      sentByApi: n.sendByApi ?? null,
    };
  } else if (webhook === 'stateInstanceChanged') {
    data.state = StateInstanceChanged.parse(raw).stateInstance ?? null;
  } else if (webhook === 'statusInstanceChanged') {
    data.state = StatusInstanceChanged.parse(raw).statusInstance ?? null;
  } else if (webhook === 'incomingCall' || webhook === 'outgoingCall') {
    const n = CallNotification.parse(raw);
    chatId = n.from;
    data.call = {
      id: n.idMessage ?? null,
      from: n.from ?? null,
      status: n.status ?? null,
      isVideo: n.isVideo ?? null,
      duration: n.duration ?? null,
    };
    if (webhook === 'incomingCall' && n.from) data.sender = { id: n.from, name: null, contactName: null };
  } else if (webhook === 'quotaExceeded') {
    const q = QuotaExceeded.parse(raw).quotaData;
    if (q)
      data.quota = {
        method: q.method ?? null,
        used: q.used ?? null,
        total: q.total ?? null,
        status: q.status ?? null,
        description: q.description ?? null,
      };
  } else {
    // incomingBlock and any type the relay does not know yet: a top-level chatId is still the chat.
    chatId = IncomingBlock.parse(raw).chatId;
  }

  if (chatId) data.chat = { id: chatId, name: words(chatName), isGroup: isGroup(chatId), type: words(chatType) };
  return data;
}

function message(idMessage: string | undefined, m: MessageData, webhook: string): Message {
  const typeMessage = m.typeMessage ?? null;
  const [kind, read] = (typeMessage && MESSAGE_TYPES[typeMessage.toLowerCase()]) || UNKNOWN;
  const fields = read(m);
  const quoted = m.quotedMessage?.stanzaId ? m.quotedMessage : undefined;
  const replyId = quoted?.stanzaId ?? fields.stanzaId;
  return {
    id: idMessage ?? null,
    typeMessage,
    kind,
    sentBy: webhook === 'outgoingMessageReceived' ? 'phone' : webhook === 'outgoingAPIMessageReceived' ? 'api' : null,
    text: words(fields.text),
    media: fields.media ?? null,
    location: fields.location ?? null,
    contacts: fields.contacts ?? null,
    replyTo: replyId
      ? {
          id: replyId,
          participant: quoted ? (quoted.participant ?? null) : null,
          media: quoted && quotesFile(quoted) ? media(quoted) : null,
        }
      : null,
    forwarded: isForwarded(m),
    poll: fields.poll ?? null,
    choice: fields.choice ?? null,
  };
}

/** WhatsApp groups end in @g.us; Telegram and MAX group ids start with a minus. */
function isGroup(chatId: string): boolean {
  return chatId.endsWith('@g.us') || chatId.startsWith('-');
}

const FILE_TYPES = new Set(['imagemessage', 'videomessage', 'audiomessage', 'documentmessage', 'stickermessage']);
function quotesFile(quoted: NonNullable<MessageData['quotedMessage']>): boolean {
  return FILE_TYPES.has(quoted.typeMessage?.toLowerCase() ?? '') || quoted.downloadUrl !== undefined;
}

function isForwarded(m: MessageData): boolean {
  if (m.isForwarded) return true;
  return Object.values(m).some(
    (value) => typeof value === 'object' && value !== null && (value as { isForwarded?: unknown }).isForwarded === true,
  );
}
