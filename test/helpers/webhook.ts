// What every test that plays Green API needs: a POST /webhook as Green API sends it, the webhook
// token the tests configure, a target signing secret, and how a started relay names its port.
// Framework-free and Node-free, so that the Deno suite uses it too.

/** The webhook token (`instances["*"].token`) the tests configure. */
export const TOKEN = 'test-token-5f1c2a9e';

/** A Standard Webhooks secret for signed targets. */
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The `relay.started` log line of every runtime, with its port. */
export const STARTED = /"event":"relay\.started"[^\n]*?"port":(\d+)/;

/** POSTs a notification to `url`/webhook with Green API's headers; `token: null` sends none. */
export function postNotification(
  url: string,
  body: string | Uint8Array | object,
  token: string | null = TOKEN,
  headers: Record<string, string> = {},
): Promise<Response> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return fetch(`${url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: payload as BodyInit,
  });
}
