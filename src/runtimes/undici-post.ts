// HttpPost on Node with undici's request API: the same exchange as `fetch`, without the cost of
// WHATWG Request/Response and AbortSignal.timeout objects on every delivery.
import { request } from 'undici';
import { SNIPPET_CHARS, type HttpPost } from '../delivery/http-post.ts';

export const undiciPost: HttpPost = async (url, { headers, body, timeoutMs, cancel }) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  const onCancel = () => controller.abort(cancel!.reason);
  cancel?.addEventListener('abort', onCancel);
  try {
    // undici follows no redirects unless told to, as the relay wants.
    const answer = await request(url, { method: 'POST', headers, body, signal: controller.signal });
    let snippet = '';
    for await (const chunk of answer.body) {
      if (snippet.length < SNIPPET_CHARS) snippet += chunk.toString('utf8');
    }
    return {
      status: answer.statusCode,
      header: (name) => {
        const value = answer.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : (value ?? null);
      },
      snippet: snippet.slice(0, SNIPPET_CHARS).trim(),
    };
  } catch (err) {
    throw controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : err;
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
};
