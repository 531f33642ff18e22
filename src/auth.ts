// Checks Green API's webhookUrlToken (contract §1). The configured tokens are hashed once; each
// request hashes the presented token once and compares digests in constant time, so neither the
// length of a token nor the number of configured instances shows in the answer time.

export interface TokenChecker {
  /** True when the token is that of any configured instance (for bodies that name no instance). */
  matchesAny(token: string): Promise<boolean>;
  /** True when the token is the one of this instance, or of "*" for an instance without an entry. */
  matchesInstance(instance: string, token: string): Promise<boolean>;
}

/** The token in an Authorization header sent as `Bearer <t>`, `Basic <t>` or bare `<t>`. */
export function tokenFromHeader(header: string | null | undefined): string | null {
  if (!header) return null;
  const token = header.trim().replace(/^(bearer|basic)\s+/i, '').trim();
  return token === '' ? null : token;
}

export function createTokenChecker(instances: Record<string, { token: string }>): TokenChecker {
  // Hashed on first use: WebCrypto's digest is async, and creating the checker should not be.
  let digests: Promise<Map<string, Uint8Array>> | undefined;
  const configured = () =>
    (digests ??= Promise.all(Object.entries(instances).map(async ([id, { token }]) => [id, await sha256(token)] as const)).then(
      (entries) => new Map(entries),
    ));

  return {
    async matchesAny(token) {
      const [known, presented] = await Promise.all([configured(), sha256(token)]);
      let match = false;
      for (const digest of known.values()) match = constantTimeEqual(digest, presented) || match;
      return match;
    },
    async matchesInstance(instance, token) {
      const [known, presented] = await Promise.all([configured(), sha256(token)]);
      const expected = known.get(instance) ?? known.get('*');
      return expected !== undefined && constantTimeEqual(expected, presented);
    },
  };
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** Compares two SHA-256 digests without an early exit. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}
