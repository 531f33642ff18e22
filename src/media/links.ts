// Signed, expiring links to archived files (contract §8): `{publicUrl}/media/{instance}/{eventId}/{part}
// ?expires={unix seconds}&sig={base64url HMAC-SHA256 of "{path}\n{expires}"}` with a key only the
// relay has. Anyone holding a link may fetch the file until it expires, without the admin token;
// no one can make or stretch one. Signed when a delivery is sent, so a dead letter replayed next
// week still carries a fresh link.
import type { MediaConfig } from '../config.ts';
import { base64url } from '../event.ts';
import type { MediaPart } from '../store/store.ts';

export interface MediaLinks {
  /** A link to a file of the event `eventId` of `instance`, valid for `ttlMs` from `now` (media.linkTtl when absent). */
  sign(file: { instance: string; eventId: string; part: MediaPart }, now: number, ttlMs?: number): Promise<string>;
  /** Whether `path` (`/media/…`) with this `expires` and `sig` is one the relay signed and still valid. */
  verify(path: string, expires: string | undefined, sig: string | undefined, now: number): Promise<boolean>;
}

/** How links are signed: plain data, so that it crosses to Node's store thread (the dispatcher signs there). */
export interface MediaLinkOptions {
  key: string;
  publicUrl: string;
  ttlMs: number;
}

/** The link options of a media config whose signing key the runtime has filled in. */
export function mediaLinkOptions(media: MediaConfig): MediaLinkOptions {
  if (!media.signingKey) throw new Error('media.signingKey is not set (the runtime provides one)');
  return { key: media.signingKey, publicUrl: media.publicUrl, ttlMs: media.linkTtlMs };
}

const encoder = new TextEncoder();

export function createMediaLinks(options: MediaLinkOptions): MediaLinks {
  const key = crypto.subtle.importKey('raw', encoder.encode(options.key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  const mac = async (path: string, expires: string) =>
    new Uint8Array(await crypto.subtle.sign('HMAC', await key, encoder.encode(`${path}\n${expires}`)));
  return {
    async sign(file, now, ttlMs = options.ttlMs) {
      const path = mediaPath(file.instance, file.eventId, file.part);
      const expires = String(Math.floor((now + ttlMs) / 1000));
      return `${options.publicUrl}${path}?expires=${expires}&sig=${base64url(await mac(path, expires))}`;
    },
    async verify(path, expires, sig, now) {
      if (!expires || !sig || !/^\d{1,12}$/.test(expires) || Number(expires) * 1000 < now) return false;
      let given: Uint8Array<ArrayBuffer>;
      try {
        given = Uint8Array.from(atob(sig.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      } catch {
        return false;
      }
      // verify compares in constant time.
      return crypto.subtle.verify('HMAC', await key, given, encoder.encode(`${path}\n${expires}`));
    },
  };
}

/** The instance is in the path so that a store split by instance (Workers) finds the file at once. */
export const mediaPath = (instance: string, eventId: string, part: MediaPart) =>
  `/media/${instance}/${eventId}/${part}`;
