// Who may use the admin API, /metrics and the inspector (contract §6): `Authorization: Bearer
// <admin.token>`, or the inspector's sign-in cookie, from every address. There is no loopback
// exemption: behind a tunnel or a reverse proxy on the same host every caller is loopback. Where
// no token is configured the runtime generates one (Node, Deno); where it cannot (Workers), the
// admin surface stays closed and says how to open it.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createTokenChecker, tokenFromHeader } from '../auth.ts';
import type { Sha256 } from '../hash.ts';
import { errorResponse } from '../http.ts';

/** The inspector's sign-in cookie; HttpOnly and SameSite=Strict, so forms cannot be forged from other sites. */
export const ADMIN_COOKIE = 'green_relay_session';

export interface AdminAuth {
  /** Rejects a request that is not the admin's. `onDenied` shapes the refusal (JSON for the API, the sign-in page for the inspector). */
  middleware(onDenied?: (c: Context, reason: string) => Response | Promise<Response>): MiddlewareHandler;
  /** The cookie value that signs in the holder of `token`, or null when it is not the admin token. */
  session(token: string): Promise<string | null>;
  /** Why nothing is admitted, when no admin token is configured; null otherwise. */
  readonly closed: string | null;
}

/**
 * The cookie holds a value derived from the token, not the token: a cookie that leaks (a browser
 * profile copied, a proxy that logs cookies) does not hand out the API token. It stays valid as
 * long as the token does, so changing the token signs every browser out.
 */
async function sessionValue(token: string, sha256: Sha256): Promise<string> {
  const digest = await sha256(`green-relay inspector session\0${token}`);
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * `closedReason` is what a caller hears when there is no token: the runtime knows how one is set
 * there (Workers: `wrangler secret put RELAY_ADMIN_TOKEN`).
 */
export function createAdminAuth(adminToken: string | undefined, sha256: Sha256, closedReason: string): AdminAuth {
  const denied = (_c: Context, reason: string) =>
    errorResponse('unauthorized', reason, { 'www-authenticate': 'Bearer' });
  if (!adminToken) {
    return {
      closed: closedReason,
      session: async () => null,
      middleware:
        (onDenied = denied) =>
        (c) =>
          Promise.resolve(onDenied(c, closedReason)),
    };
  }
  // Both checked in constant time against digests made once (auth.ts).
  const expectedSession = sessionValue(adminToken, sha256);
  const checker = createTokenChecker({ token: { token: adminToken } }, sha256);
  const cookieChecker = expectedSession.then((value) => createTokenChecker({ session: { token: value } }, sha256));
  return {
    closed: null,
    async session(token) {
      return (await checker(token)).isFor('token') ? expectedSession : null;
    },
    middleware(onDenied = denied) {
      return async (c, next) => {
        const bearer = tokenFromHeader(c.req.header('authorization'));
        if (bearer && (await checker(bearer)).isFor('token')) return next();
        const cookie = getCookie(c, ADMIN_COOKIE);
        if (cookie && (await (await cookieChecker)(cookie)).isFor('session')) return next();
        return onDenied(
          c,
          bearer || cookie ? 'wrong admin token' : 'the admin token is required (Authorization: Bearer <admin.token>)',
        );
      };
    },
  };
}
