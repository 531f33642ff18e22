// Green API notification bodies as zod schemas, written from ../shared/docs/green-api-webhooks.md
// §2-§4 (https://green-api.com/en/docs/api/receiving/notifications-format/).
//
// Only `NotificationHeader` (what every notification starts with; "envelope" means the CloudEvent
// elsewhere) is strict about anything: a body without a string `typeWebhook` and an
// `instanceData.idInstance` is quarantined (contract §1). Every other schema is lenient on purpose:
// Green API's own examples disagree on spellings, nesting and which members exist, and it adds
// fields without notice, so each member is optional and a member of the wrong type reads as absent
// instead of failing the parse. Unknown keys are dropped here; the relay keeps the raw body anyway.
import * as z from 'zod';

const str = z.string().optional().catch(undefined);
const num = z.number().optional().catch(undefined);
const bool = z.boolean().optional().catch(undefined);
/** An id Green API may send as a number or a string (Telegram and MAX use numeric ids). */
const id = z
  .union([z.string(), z.number().transform(String)])
  .optional()
  .catch(undefined);

function lenient<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).optional().catch(undefined);
}
function list<T extends z.ZodType>(item: T) {
  return z.array(item.optional().catch(undefined)).optional().catch(undefined);
}

// ---- §2 the common header -----------------------------------------------------------------

/** What every accepted notification must have; anything else is quarantined. */
export const NotificationHeader = z.object({
  typeWebhook: z.string().min(1),
  instanceData: z.object({
    idInstance: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]),
    wid: str,
    typeInstance: str,
  }),
  timestamp: num,
});
export type NotificationHeader = z.infer<typeof NotificationHeader>;

export const SenderData = lenient({
  chatId: id,
  sender: id,
  chatName: str,
  senderName: str,
  senderContactName: str,
  chatType: str,
  senderType: str,
  senderPhoneNumber: id,
});

// ---- §4 messageData: one data object per typeMessage -----------------------------------------

const forwarding = { isForwarded: bool, forwardingScore: num };

/** The message a reply quotes (sibling of the data object); a quoted file carries its fields flat, with an empty downloadUrl. */
export const QuotedMessage = lenient({
  stanzaId: str,
  participant: id,
  typeMessage: str,
  downloadUrl: str,
  caption: str,
  fileName: str,
  mimeType: str,
});

/** textMessage */
export const TextMessageData = lenient({ textMessage: str, isTemplateMessage: bool, ...forwarding });
/** extendedTextMessage, quotedMessage (deprecated type), reactionMessage */
export const ExtendedTextMessageData = lenient({
  text: str,
  description: str,
  title: str,
  stanzaId: str,
  participant: id,
  ...forwarding,
});
/** imageMessage, videoMessage, audioMessage, documentMessage, stickerMessage (Telegram also `stickerMessageData`) */
export const FileMessageData = lenient({
  downloadUrl: str,
  caption: str,
  fileName: str,
  mimeType: str,
  isAnimated: bool,
  /** WhatsApp 2026: true for an instant video message (a round video note). */
  videoNote: bool,
  ...forwarding,
});
/** locationMessage, liveLocationMessage */
export const LocationMessageData = lenient({
  latitude: num,
  longitude: num,
  nameLocation: str,
  address: str,
  ...forwarding,
});
/** contactMessage (WhatsApp: displayName + vcard; Telegram adds phoneContact, firstName, lastName) */
export const ContactMessageData = lenient({
  displayName: str,
  vcard: str,
  firstName: str,
  lastName: str,
  ...forwarding,
});
const Contact = z.object({ displayName: str, vcard: str });
/** contactsArrayMessage: `contacts` directly in messageData (docs) or under messageData.messageData (SDK). */
export const ContactsArray = list(Contact);
/** pollMessage (current `pollMessageData`, 2023 `pollCreationMessage`) and pollUpdateMessage */
export const PollMessageData = lenient({
  stanzaId: str,
  name: str,
  options: list(z.object({ optionName: str })),
  votes: list(z.object({ optionName: str, optionVoters: list(z.string()) })),
  multipleAnswers: bool,
  selectableOptionsCount: num,
  /** MAX polls. */
  allowToChangeAnswer: bool,
});
/** editedMessage */
export const EditedMessageData = lenient({ textMessage: str, caption: str, stanzaId: str });
/** deletedMessage */
export const DeletedMessageData = lenient({ stanzaId: str });
/** groupInviteMessage */
export const GroupInviteMessageData = lenient({
  groupJid: str,
  inviteCode: str,
  inviteExpiration: z.unknown(),
  groupName: str,
  caption: str,
  name: str,
});
const Button = z.object({ buttonId: id, buttonText: str, type: str });
/** buttonsMessage */
export const ButtonsMessage = lenient({ contentText: str, footer: str, buttons: list(Button), ...forwarding });
/** listMessage */
export const ListMessage = lenient({ contentText: str, title: str, footer: str, buttonText: str, ...forwarding });
/** templateMessage */
export const TemplateMessage = lenient({
  namespace: str,
  elementName: str,
  contentText: str,
  footer: str,
  ...forwarding,
});
/** interactiveButtons and interactiveButtonsReply (beta; field names vary between sources) */
export const InteractiveButtons = lenient({
  titleText: str,
  contentText: str,
  footerText: str,
  header: str,
  body: str,
  footer: str,
  buttons: list(Button),
});
/** buttonsResponseMessage */
export const ButtonsResponseMessage = lenient({ stanzaId: str, selectedButtonId: id, selectedButtonText: str });
/** listResponseMessage */
export const ListResponseMessage = lenient({
  stanzaId: str,
  title: str,
  listType: num,
  singleSelectReply: str,
  rowId: str,
});
/** templateButtonsReplyMessage / templateButtonReplyMessage (both spellings, one data key) */
export const TemplateButtonReplyMessage = lenient({
  stanzaId: str,
  selectedIndex: num,
  selectedId: id,
  selectedDisplayText: str,
});

/** `messageData` of the three message webhooks: `typeMessage` plus whichever data object it carries. */
export const MessageData = lenient({
  typeMessage: str,
  textMessageData: TextMessageData,
  extendedTextMessageData: ExtendedTextMessageData,
  fileMessageData: FileMessageData,
  stickerMessageData: FileMessageData,
  locationMessageData: LocationMessageData,
  contactMessageData: ContactMessageData,
  contacts: ContactsArray,
  messageData: lenient({ contacts: ContactsArray }),
  pollMessageData: PollMessageData,
  pollCreationMessage: PollMessageData,
  editedMessageData: EditedMessageData,
  deletedMessageData: DeletedMessageData,
  groupInviteMessageData: GroupInviteMessageData,
  buttonsMessage: ButtonsMessage,
  listMessage: ListMessage,
  templateMessage: TemplateMessage,
  interactiveButtons: InteractiveButtons,
  interactiveButtonsReply: InteractiveButtons,
  buttonsResponseMessage: ButtonsResponseMessage,
  listResponseMessage: ListResponseMessage,
  templateButtonReplyMessage: TemplateButtonReplyMessage,
  templateButtonsReplyMessage: TemplateButtonReplyMessage,
  quotedMessage: QuotedMessage,
  ...forwarding,
});
export type MessageData = NonNullable<z.infer<typeof MessageData>>;

// ---- §3 one schema per typeWebhook -------------------------------------------------------------

/** incomingMessageReceived, outgoingMessageReceived, outgoingAPIMessageReceived */
export const MessageNotification = z.object({ idMessage: id, senderData: SenderData, messageData: MessageData });
/** outgoingMessageStatus (`chatId` is missing in some published examples), and incomingMessageStatus (same fields) */
export const OutgoingMessageStatus = z.object({
  chatId: id,
  idMessage: id,
  status: str,
  description: str,
  sendByApi: bool,
});
/** stateInstanceChanged */
export const StateInstanceChanged = z.object({ stateInstance: str });
/** statusInstanceChanged (deprecated) */
export const StatusInstanceChanged = z.object({ statusInstance: str });
/** incomingCall and outgoingCall (beta) */
export const CallNotification = z.object({ idMessage: id, from: id, status: str, isVideo: bool, duration: num });
/** incomingBlock (deprecated) */
export const IncomingBlock = z.object({ chatId: id, chatState: str });
/** quotaExceeded */
export const QuotaExceeded = z.object({
  quotaData: lenient({ method: str, used: num, total: num, status: str, description: str }),
});
export const MESSAGE_WEBHOOKS = [
  'incomingMessageReceived',
  'outgoingMessageReceived',
  'outgoingAPIMessageReceived',
] as const;
