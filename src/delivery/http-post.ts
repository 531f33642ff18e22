// The HTTP client port of the dispatcher: one POST with a deadline, redirects not followed, and
// the start of the answer's body. The default is `fetch`; Node hands in undici's dispatch API
// (runtimes/node/undici-post.ts), which costs a fraction of fetch's CPU per delivery there.
import { withDeadline } from '../deadline.ts';

export interface PostRequest {
  headers: Record<string, string>;
  body: Uint8Array;
  /** The whole exchange, answer body included, must end within this. */
  timeoutMs: number;
  /** Aborts the exchange early (the relay is stopping). */
  cancel?: AbortSignal;
}

export interface PostAnswer {
  status: number;
  header(name: string): string | null;
  /** The first characters of the answer's body; the rest is discarded. */
  snippet: string;
}

/** Resolves with the answer, whatever its status; rejects on a network error, the deadline (a `TimeoutError`) or `cancel`. */
export type HttpPost = (url: string, request: PostRequest) => Promise<PostAnswer>;

/** How much of an answer's body is kept (it goes into the attempt record). */
export const SNIPPET_CHARS = 200;

/** HttpPost over the platform's `fetch` (Workers, Deno, browsers). */
export function fetchPost(fetchFn: typeof fetch = fetch): HttpPost {
  return async (url, { headers, body, timeoutMs, cancel }) => {
    const signal = withDeadline(cancel, timeoutMs);
    try {
      const response = await fetchFn(url, {
        method: 'POST',
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        // A target's redirect is not followed: it could point the relay anywhere.
        redirect: 'manual',
        signal,
      });
      return {
        status: response.status,
        header: (name) => response.headers.get(name),
        snippet: await readSnippet(response.body),
      };
    } finally {
      signal.clear();
    }
  };
}

/** Reads the first SNIPPET_CHARS characters of a body stream and cancels the rest. */
export async function readSnippet(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < SNIPPET_CHARS) {
      const { done, value } = await reader.read();
      if (done) return text.trim();
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  return text.slice(0, SNIPPET_CHARS).trim();
}
