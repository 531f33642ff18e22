// What a target that takes archived files (`"media": "archived"`) receives: the event's data with
// `archivedUrl` (a signed link of the relay's own, or null) and `archiveError` (why not, or null)
// beside the original `url` of each file: the message's own, and the quoted one's.
import type { MediaRecord } from '../store/store.ts';
import type { MediaLinks } from './links.ts';

interface FileData {
  url?: unknown;
  archivedUrl?: string | null;
  archiveError?: string | null;
}
interface MessageData {
  instance?: { id?: string };
  message?: { media?: FileData | null; replyTo?: { media?: FileData | null } | null } | null;
}

/** `dataJson` (the stored data text) with the archive's links filled in. */
export async function withArchivedLinks(
  dataJson: string,
  eventId: string,
  records: MediaRecord[],
  links: MediaLinks,
  now: number,
): Promise<string> {
  const data = JSON.parse(dataJson) as MessageData;
  const fill = async (file: FileData | null | undefined, part: MediaRecord['part']) => {
    if (!file) return;
    const record = records.find((r) => r.part === part);
    const archived = record?.status === 'archived';
    file.archivedUrl = archived ? await links.sign({ instance: data.instance?.id ?? '', eventId, part }, now) : null;
    file.archiveError = archived
      ? null
      : (record?.error ?? (record ? 'not archived yet' : 'not archived (the instance has no entry of its own)'));
  };
  await fill(data.message?.media, 'message');
  await fill(data.message?.replyTo?.media, 'quoted');
  return JSON.stringify(data);
}
