// Standard Webhooks signatures (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the secret
// `whsec_<base64>`, over the exact bytes sent. While a secret rotates there are several, and the
// header carries one signature per secret, space-separated as the spec allows: a receiver holding
// either the old or the new secret verifies it.

export type Signer = (id: string, timestampSeconds: number, body: Uint8Array) => Promise<string>;

/** A signer for `whsec_` secrets (one signature each, in order); the keys are imported once. */
export function createSigner(secrets: readonly string[]): Signer {
  const keys = secrets.map((secret) =>
    crypto.subtle.importKey(
      'raw',
      base64Decode(secret.replace(/^whsec_/, '')),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    ),
  );
  const encoder = new TextEncoder();
  return async (id, timestamp, body) => {
    const prefix = encoder.encode(`${id}.${timestamp}.`);
    const signed = new Uint8Array(prefix.length + body.length);
    signed.set(prefix);
    signed.set(body, prefix.length);
    const macs = await Promise.all(
      keys.map(async (key) => new Uint8Array(await crypto.subtle.sign('HMAC', await key, signed))),
    );
    return macs.map((mac) => `v1,${base64Encode(mac)}`).join(' ');
  };
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64Encode(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
