// Both HttpPost implementations (fetch for Workers and Deno, undici on Node) against a real sink:
// the same answers, deadlines, cancellation and refusal to follow redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPost, type HttpPost } from '../../src/delivery/http-post.ts';
import { undiciPost } from '../../src/runtimes/node/undici-post.ts';
import { startSink, type Sink, type SinkReply } from '../helpers/sink.ts';

let sink: Sink;
beforeAll(async () => {
  sink = await startSink((request): SinkReply => {
    switch (request.path) {
      case '/fail':
        return { status: 500, headers: { 'retry-after': '7' }, body: `${'e'.repeat(300)}` };
      case '/moved':
        return { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } };
      case '/hang':
        return { hang: true };
      default:
        return { status: 204 };
    }
  });
});
afterAll(() => sink.close());

const base = () => sink.url.replace('/hook', '');
const request = (overrides: Partial<Parameters<HttpPost>[1]> = {}) => ({
  headers: { 'content-type': 'application/json', 'x-probe': 'yes' },
  body: new TextEncoder().encode('{"a":1}'),
  timeoutMs: 2_000,
  ...overrides,
});

describe.each([
  ['fetchPost', fetchPost()],
  ['undiciPost', undiciPost],
] as const)('%s', (_, post) => {
  it('sends the headers and body, and answers status, headers and the start of the body', async () => {
    const before = sink.requests.length;
    const answer = await post(`${base()}/fail`, request());
    expect(answer.status).toBe(500);
    expect(answer.header('Retry-After')).toBe('7');
    expect(answer.snippet).toBe('e'.repeat(200));
    const received = sink.requests[before]!;
    expect(received.headers['x-probe']).toBe('yes');
    expect(received.body.toString()).toBe('{"a":1}');
    expect((await post(`${base()}/ok`, request())).status).toBe(204);
  });

  it('does not follow redirects', async () => {
    const answer = await post(`${base()}/moved`, request());
    expect(answer.status).toBe(302);
    expect(answer.header('location')).toBe('http://127.0.0.1:1/elsewhere');
  });

  it('rejects with a TimeoutError at the deadline', async () => {
    await expect(post(`${base()}/hang`, request({ timeoutMs: 200 }))).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects when cancelled', async () => {
    const cancel = new AbortController();
    const pending = post(`${base()}/hang`, request({ cancel: cancel.signal }));
    setTimeout(() => cancel.abort(), 50);
    await expect(pending).rejects.toBeDefined();
    expect(cancel.signal.aborted).toBe(true);
  });

  it('rejects, without a TimeoutError, when the connection is refused', async () => {
    const error = await post('http://127.0.0.1:9/refused', request()).catch((err: Error) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).not.toBe('TimeoutError');
  });
});
