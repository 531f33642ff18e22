// The one error shape on the wire (contract §1): {"error":{"code","message"}}, and reading a
// request body within a limit.
import { concatBytes } from './bytes.ts';

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unprocessable'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unprocessable: 422,
  unavailable: 503,
  internal: 500,
};

export function errorResponse(code: ErrorCode, message: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { code, message } }, { status: STATUS[code], headers });
}

/**
 * The request body, or null when it is larger than `max` bytes (read no further than that). Not
 * Hono's bodyLimit middleware: it wraps the body in a new stream that the handler then reads
 * again; here the one read both counts and keeps the bytes.
 */
export async function readBody(request: Request, max: number): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > max) return null;
  if (Number.isInteger(declared)) {
    // The HTTP layer holds the body to its declared length, so it can be read in one go. Asked
    // before `request.body`, which on @hono/node-server would build a stream it then skips.
    const body = new Uint8Array(await request.arrayBuffer());
    return body.byteLength > max ? null : body;
  }
  if (!request.body) return new Uint8Array(0);

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}
