// The cases' helpers: speaking to the relay as Green API and as an operator, over HTTP only.
import assert from 'node:assert/strict';
import { fixture } from '../helpers/fixtures.ts';
import { ADMIN, TOKEN, type BehaviourContext } from './setup.ts';

let unique = 0;
/** A text message of its own (its own idMessage), optionally for another instance. */
export function message(idInstance = 1234): Record<string, unknown> & { timestamp: number } {
  return {
    ...(fixture('incomingMessageReceived.textMessage.json').json as { timestamp: number }),
    idMessage: `BEHAVIOUR${Date.now()}${unique++}`,
    instanceData: { idInstance, wid: '1@c.us', typeInstance: 'whatsapp' },
  };
}

export async function post(
  ctx: BehaviourContext,
  body: string | Uint8Array | object,
  token: string | null = TOKEN,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${ctx.url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit,
  });
  return { status: response.status, json: await response.json() };
}

export async function api(ctx: BehaviourContext, path: string, method = 'GET'): Promise<any> {
  const response = await fetch(`${ctx.url}/api${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(response.status, 200, `${method} /api${path}`);
  return response.json();
}

/** Polls `probe` until it gives something truthy, and returns that. */
export async function until<T>(
  what: string,
  probe: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const at = (ctx: BehaviourContext, target: string, id: string) =>
  ctx.requests.filter((r) => r.path === `/${target}` && r.headers['webhook-id'] === id);
export const delivery = async (ctx: BehaviourContext, id: string, target: string) =>
  (await api(ctx, `/events/${id}`)).deliveries.find((d: any) => d.target === target);
