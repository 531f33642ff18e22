// Checks Green API's webhookUrlToken (contract §1). The configured tokens are hashed once; each
// request hashes the presented token once and compares digests in constant time, so neither the
// length of a token nor the number of configured instances shows in the answer time. Not Hono's
// timingSafeEqual: it hashes both sides on every comparison, which for N instances is N hashes of
// the configured tokens per request instead of none.
import type { Sha256 } from './hash.ts';

/** A token presented with a request, hashed, ready to be compared. */
export interface PresentedToken {
  /** True when it is the token of any configured instance (for bodies that name no instance). */
  readonly known: boolean;
  /** True when it is this instance's token, or the token of "*" for an instance without an entry. */
  isFor(instance: string): boolean;
}

export type TokenChecker = (token: string) => Promise<PresentedToken>;

/** The token in an Authorization header sent as `Bearer <t>`, `Basic <t>` or bare `<t>`. */
export function tokenFromHeader(header: string | null | undefined): string | null {
  if (!header) return null;
  const token = header
    .trim()
    .replace(/^(bearer|basic)\s+/i, '')
    .trim();
  return token === '' ? null : token;
}

/**
 * Checks tokens against the instances' entries. An entry without a token (a pulled instance)
 * admits no request at all, not even with the token of "*".
 */
export function createTokenChecker(instances: Record<string, { token?: string }>, sha256: Sha256): TokenChecker {
  // Hashed on first use, so that creating the checker need not be async.
  let digests: Promise<Map<string, Uint8Array | null>> | undefined;
  const configured = () =>
    (digests ??= Promise.all(
      Object.entries(instances).map(
        async ([id, { token }]) => [id, token === undefined ? null : await sha256(token)] as const,
      ),
    ).then((entries) => new Map(entries)));

  return async (token) => {
    const [known, presented] = await Promise.all([configured(), sha256(token)]);
    let any = false;
    for (const digest of known.values()) if (digest) any = constantTimeEqual(digest, presented) || any;
    return {
      known: any,
      isFor(instance) {
        const expected = known.has(instance) ? known.get(instance) : known.get('*');
        return expected != null && constantTimeEqual(expected, presented);
      },
    };
  };
}

/** Compares two SHA-256 digests without an early exit. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}
