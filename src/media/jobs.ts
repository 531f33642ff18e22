// Which files of an event the archive keeps (contract §8): the message's own file and the one it
// quotes (whose link Green API sends empty), for an instance with an entry of its own in the
// configuration (never for one only "*" admits: the relay fetches nothing on a stranger's say-so).
import type { RelayConfig } from '../config.ts';
import type { RelayEvent } from '../event.ts';
import type { NewMedia } from '../store/store.ts';

export function mediaJobs(event: RelayEvent, config: Pick<RelayConfig, 'media' | 'instances'>): NewMedia[] {
  const message = event.data.message;
  const chat = event.data.chat?.id;
  if (!config.media || !message || !chat || !Object.hasOwn(config.instances, event.greenapiinstance)) return [];
  const jobs: NewMedia[] = [];
  if (message.media && message.id)
    jobs.push({
      part: 'message',
      url: message.media.url,
      chatId: chat,
      messageId: message.id,
      mimeType: message.media.mimeType,
      fileName: message.media.fileName,
    });
  const quoted = message.replyTo;
  if (quoted?.media)
    jobs.push({
      part: 'quoted',
      url: quoted.media.url,
      chatId: chat,
      messageId: quoted.id,
      mimeType: quoted.media.mimeType,
      fileName: quoted.media.fileName,
    });
  return jobs;
}
