// Standard Webhooks signatures (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the secret
// `whsec_<base64>`, over the exact bytes sent.

export type Signer = (id: string, timestampSeconds: number, body: Uint8Array) => Promise<string>;

/** A signer for one `whsec_` secret; the key is imported once. */
export function createSigner(secret: string): Signer {
  const key = crypto.subtle.importKey(
    'raw',
    base64Decode(secret.replace(/^whsec_/, '')),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const encoder = new TextEncoder();
  return async (id, timestamp, body) => {
    const prefix = encoder.encode(`${id}.${timestamp}.`);
    const signed = new Uint8Array(prefix.length + body.length);
    signed.set(prefix);
    signed.set(body, prefix.length);
    const mac = await crypto.subtle.sign('HMAC', await key, signed);
    return `v1,${base64Encode(new Uint8Array(mac))}`;
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
