// Who may use the admin API, /metrics and the inspector (contract §6): `Authorization: Bearer
// <admin.token>` (or the inspector's cookie holding the same token), compared in constant time;
// with no admin token configured, only callers on the loopback interface.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createTokenChecker, tokenFromHeader } from '../auth.ts';
import type { Sha256 } from '../hash.ts';
import { errorResponse } from '../http.ts';

/** The inspector's login cookie; HttpOnly and SameSite=Strict, so forms cannot be forged from other sites. */
export const ADMIN_COOKIE = 'green_relay_admin';

/** Tells the address of the peer of a request, where the runtime knows it. */
export type ClientAddress = (c: Context) => string | undefined;

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export interface AdminAuth {
  /** Rejects a request that is not the admin's. `onDenied` shapes the refusal (JSON for the API, a login page for the inspector). */
  middleware(onDenied?: (c: Context, reason: string) => Response | Promise<Response>): MiddlewareHandler;
  /** True when `token` is the admin token. */
  check(token: string): Promise<boolean>;
  readonly hasToken: boolean;
}

export function createAdminAuth(adminToken: string | undefined, sha256: Sha256, clientAddress: ClientAddress | undefined): AdminAuth {
  const checker = adminToken ? createTokenChecker({ admin: { token: adminToken } }, sha256) : undefined;
  const check = async (token: string) => (checker ? (await checker(token)).isFor('admin') : false);
  const denied = (_c: Context, reason: string) => errorResponse('unauthorized', reason, { 'www-authenticate': 'Bearer' });

  return {
    hasToken: checker !== undefined,
    check,
    middleware(onDenied = denied) {
      return async (c, next) => {
        if (!checker) {
          if (isLoopback(clientAddress?.(c))) return next();
          return onDenied(c, 'no admin token is configured, so admin endpoints answer only on loopback');
        }
        const token = tokenFromHeader(c.req.header('authorization')) ?? getCookie(c, ADMIN_COOKIE) ?? null;
        if (token && (await check(token))) return next();
        return onDenied(c, 'missing or wrong admin token');
      };
    },
  };
}
