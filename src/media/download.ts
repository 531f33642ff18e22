// Opening one file for the archive: the link checked by the address policy (guard.ts), redirects
// followed by hand so that every hop is checked again, the size capped while the bytes stream.
// The runtime's FileFetch connects only to addresses the policy allows (checked after the name is
// resolved, on the address it then connects to) and never follows a redirect itself.
import type { AddressPolicy } from './guard.ts';

/** One GET that does not follow redirects and refuses to connect where `policy.refuse` says no. */
export type FileFetch = (url: string, init: { signal: AbortSignal; policy: AddressPolicy }) => Promise<Response>;

/** Why a file could not be had; `permanent`: trying again will not help (refused, too large, gone). */
export class DownloadError extends Error {
  readonly permanent: boolean;
  readonly status: number | null;
  constructor(message: string, permanent: boolean, status: number | null = null) {
    super(message);
    this.name = 'DownloadError';
    this.permanent = permanent;
    this.status = status;
  }
}

/** The name a FileFetch gives the error when the guard refused an address (it may arrive as a cause). */
export const REFUSED = 'AddressRefused';

const MAX_REDIRECTS = 5;

export interface OpenedFile {
  body: ReadableStream<Uint8Array>;
  contentType: string | null;
}

export async function openDownload(
  link: string,
  options: { fetchFile: FileFetch; policy: AddressPolicy; maxBytes: number; signal: AbortSignal },
): Promise<OpenedFile> {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new DownloadError('the link is not a URL', true);
  }
  for (let hop = 0; ; hop++) {
    const refused = options.policy.refuseUrl(url);
    if (refused) throw new DownloadError(`refused: ${refused}`, true);
    let response: Response;
    try {
      response = await options.fetchFile(url.href, { signal: options.signal, policy: options.policy });
    } catch (err) {
      const reason = refusal(err);
      if (reason) throw new DownloadError(`refused: ${reason}`, true);
      throw new DownloadError(`the file could not be fetched: ${(err as Error).message}`, false);
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`more than ${MAX_REDIRECTS} redirects`, true);
      url = new URL(location, url);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DownloadError(
        `the file's host answered HTTP ${response.status}`,
        response.status < 500 && response.status !== 429,
        response.status,
      );
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (length > options.maxBytes) {
      await response.body?.cancel();
      throw new DownloadError(`the file is ${length} bytes, over media.maxBytes (${options.maxBytes})`, true);
    }
    return {
      body: capped(response.body ?? new ReadableStream(), options.maxBytes),
      contentType: response.headers.get('content-type'),
    };
  }
}

/** The stream, failing once more than `max` bytes have come (a host that sends no Content-Length, or lies). */
function capped(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) controller.error(new DownloadError(`the file is over media.maxBytes (${max})`, true));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/** The guard's reason, when `err` (or one of its causes) is its refusal. */
function refusal(err: unknown): string | null {
  for (
    let e = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.name === REFUSED) return e.message ?? 'refused';
    e = e.cause as typeof e;
  }
  return null;
}
