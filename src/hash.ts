// The SHA-256 port. Event ids and token checks hash on every request; WebCrypto's digest is the
// portable default, but on Node 20 it costs ~20 µs a call against ~2 µs for node:crypto's
// createHash, so a runtime may hand in a faster one.

export type Sha256 = (text: string) => Uint8Array | Promise<Uint8Array>;

const encoder = new TextEncoder();

export const webCryptoSha256: Sha256 = async (text) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
