// Every example notification of Green API's docs goes through POST /webhook and reaches a real
// sink in all three formats, with its expected type, subject, kind, text and lossless raw.
import { HTTP, type CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventData } from '../src/event.ts';
import { EXPECTED } from './fixtures-expected.ts';
import { loadFixtures } from './helpers/fixtures.ts';
import { startRelay } from './helpers/relay.ts';
import { startSink, type Sink, type SinkRequest } from './helpers/sink.ts';

const fixtures = loadFixtures();
let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
});
afterAll(() => sink.close());

function toEvent(request: SinkRequest): CloudEvent<EventData> {
  return HTTP.toEvent({
    headers: request.headers as Record<string, string>,
    body: request.body.toString('utf8'),
  }) as CloudEvent<EventData>;
}

describe('the fixture corpus', () => {
  it('has an expectation for every file, and a file for every expectation', () => {
    expect(fixtures.map((f) => f.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(fixtures.map((f, i) => [f.name, f, i] as const))(
    '%s is delivered in all three formats',
    async (_, file, i) => {
      const [type, subject, kind, text] = EXPECTED[file.name]!;
      // Many examples share an idMessage, so each gets a relay (and store) of its own.
      const base = sink.url.replace('/hook', `/${i}`);
      const relay = await startRelay({
        targets: [
          { name: 'ce', url: `${base}/ce` },
          { name: 'binary', url: `${base}/binary`, format: 'cloudevents-binary' },
          { name: 'raw', url: `${base}/raw`, format: 'raw' },
        ],
      });
      try {
        const response = await relay.post(file.bytes);
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { status: string; id: string };
        expect(answer.status).toBe('accepted');

        await expect.poll(() => sink.requests.filter((r) => r.path.startsWith(`/${i}/`)).length).toBe(3);
        const got = (format: string) => sink.requests.find((r) => r.path === `/${i}/${format}`)!;

        const structured = got('ce');
        expect(structured.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
        const binary = got('binary');
        expect(binary.headers['content-type']).toBe('application/json');
        expect(binary.headers['ce-id']).toBe(answer.id);

        for (const event of [toEvent(structured), toEvent(binary)]) {
          expect(event.specversion).toBe('1.0');
          expect(event.id).toBe(answer.id);
          expect(event.type).toBe(type);
          expect(event.subject).toBe(subject);
          expect(event.source).toBe(
            `/green-api/instances/${(file.json.instanceData as { idInstance: number }).idInstance}`,
          );
          expect(event.data!.webhook).toBe(file.json.typeWebhook);
          expect(event.data!.message?.kind ?? null).toBe(kind);
          expect(event.data!.message?.text ?? null).toBe(text);
          expect(event.data!.raw).toEqual(file.json);
        }

        const raw = got('raw');
        expect(raw.headers['content-type']).toBe('application/json');
        expect(Buffer.compare(raw.body, file.bytes)).toBe(0);

        for (const request of [structured, binary, raw]) {
          expect(request.headers['webhook-id']).toBe(answer.id);
          expect(request.headers['user-agent']).toMatch(/^green-relay\/\d+\.\d+\.\d+$/);
        }
      } finally {
        await relay.close();
      }
    },
  );
});
