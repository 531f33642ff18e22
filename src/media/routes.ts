// GET /media/:instance/:eventId/:part: an archived file at its signed link (links.ts). No admin token: the
// signature is the permission. Range requests are answered (206), so players can seek. A file is
// served as the type it came with, but sandboxed and never sniffed, and anything but an image,
// audio or video is an attachment: a file someone sent to a chat cannot run as a page of the
// relay's own (its inspector's cookie lives on this origin).
import { Hono } from 'hono';
import { errorResponse } from '../http.ts';
import type { AppStore, MediaPart } from '../store/store.ts';
import type { MediaBlobs } from './blobs.ts';
import { mediaPath, type MediaLinks } from './links.ts';

export interface MediaRouteDeps {
  store: Pick<AppStore, 'getMedia'>;
  blobs: MediaBlobs;
  links: MediaLinks;
  now: () => number;
}

const INLINE = /^(image\/(?!svg)|audio\/|video\/)/i;

export function createMediaRoutes(deps: MediaRouteDeps): Hono {
  const app = new Hono();
  app.get('/media/:instance/:eventId/:part', async (c) => {
    const { instance, eventId, part } = c.req.param();
    if (part !== 'message' && part !== 'quoted') return errorResponse('not_found', 'no such file');
    const ok = await deps.links.verify(
      mediaPath(instance, eventId, part),
      c.req.query('expires'),
      c.req.query('sig'),
      deps.now(),
    );
    if (!ok) return errorResponse('forbidden', 'the link is not valid, or has expired');
    const record = (await deps.store.getMedia(eventId, instance)).find((r) => r.part === (part as MediaPart));
    if (!record || record.status !== 'archived' || !record.key || record.bytes === null)
      return errorResponse('not_found', 'the file is not in the archive');
    const size = record.bytes;
    const range = parseRange(c.req.header('range'), size);
    if (range === 'unsatisfiable')
      return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
    const blob = await deps.blobs.get(record.key, range ?? undefined);
    if (!blob) return errorResponse('not_found', 'the file is not in the archive');
    const type = record.contentType ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      'content-type': type,
      'accept-ranges': 'bytes',
      'content-length': String(range ? range.end - range.start + 1 : size),
      'cache-control': 'private, max-age=3600',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'content-disposition': `${INLINE.test(type) ? 'inline' : 'attachment'}${record.fileName ? `; filename*=UTF-8''${encodeURIComponent(record.fileName)}` : ''}`,
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    return new Response(blob.body, { status: range ? 206 : 200, headers });
  });
  return app;
}

/** One `bytes=` range (the first, if several are asked), clamped to the file; null: the whole file. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  const match = header ? /^bytes=(\d*)-(\d*)/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    // The last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
