// Event identity (contract §3): what counts as the same notification, and what does not.
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildEvent } from '../src/event.ts';
import { NotificationHeader } from '../src/green-api/schema.ts';
import { fixture, loadFixtures } from './helpers/fixtures.ts';
import { startRelay, type TestRelay } from './helpers/relay.ts';
import { startSink, type Sink } from './helpers/sink.ts';

async function relayWithSink(): Promise<{ relay: TestRelay; sink: Sink }> {
  const sink = await startSink();
  const relay = await startRelay({ targets: [{ name: 'sink', url: sink.url }] });
  onTestFinished(() => sink.close());
  onTestFinished(() => relay.close());
  return { relay, sink };
}

async function send(relay: TestRelay, bodies: object[]): Promise<{ status: string; id: string }[]> {
  const answers = [];
  for (const body of bodies) answers.push((await (await relay.post(body)).json()) as { status: string; id: string });
  return answers;
}

/** Lets the dispatcher finish, then the ids the sink got. */
async function delivered(relay: TestRelay, sink: Sink): Promise<string[]> {
  await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status != 'delivered'").length).toBe(0);
  return sink.requests.map((r) => String(r.headers['webhook-id']));
}

const text = fixture('incomingMessageReceived.textMessage.json').json;
const status = fixture('outgoingMessageStatus.sent.apidog.json').json;
const poll = (votes: object[]) => ({
  ...text,
  idMessage: 'POLLVOTE1',
  messageData: {
    typeMessage: 'pollUpdateMessage',
    pollMessageData: { stanzaId: 'POLL1', name: 'Lunch?', votes, multipleAnswers: false },
  },
});

describe('event ids', () => {
  it('delivers the same notification sent twice once', async () => {
    const { relay, sink } = await relayWithSink();
    const answers = await send(relay, [text, text]);
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'duplicate']);
    expect(await delivered(relay, sink)).toEqual([answers[0]!.id]);
  });

  it('treats a message redelivered with another timestamp as a duplicate', async () => {
    const { relay, sink } = await relayWithSink();
    const answers = await send(relay, [text, { ...text, timestamp: (text.timestamp as number) + 60 }]);
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'duplicate']);
    expect(answers[1]!.id).toBe(answers[0]!.id);
    expect(await delivered(relay, sink)).toHaveLength(1);
  });

  it('makes sent, delivered and read of one message three events', async () => {
    const { relay, sink } = await relayWithSink();
    const answers = await send(
      relay,
      ['sent', 'delivered', 'read', 'read'].map((value, i) => ({
        ...status,
        status: value,
        timestamp: 1705901090 + i,
      })),
    );
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'accepted', 'accepted', 'duplicate']);
    expect(new Set(await delivered(relay, sink)).size).toBe(3);
  });

  it('makes two vote states of one poll two events', async () => {
    const { relay, sink } = await relayWithSink();
    const answers = await send(relay, [
      poll([
        { optionName: 'Pizza', optionVoters: ['79001234568@c.us'] },
        { optionName: 'Sushi', optionVoters: [] },
      ]),
      poll([
        { optionName: 'Pizza', optionVoters: [] },
        { optionName: 'Sushi', optionVoters: ['79001234568@c.us'] },
      ]),
    ]);
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'accepted']);
    expect(new Set(await delivered(relay, sink)).size).toBe(2);
  });

  it('makes two state changes with different timestamps two events, and one resent unchanged one', async () => {
    const { relay } = await relayWithSink();
    const state = fixture('stateInstanceChanged.notAuthorized.json').json;
    const answers = await send(relay, [state, { ...state, timestamp: (state.timestamp as number) + 5 }, state]);
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'accepted', 'duplicate']);
  });

  it('keeps apart the same idMessage in two chats, two instances and two webhooks', async () => {
    const { relay } = await relayWithSink();
    const answers = await send(relay, [
      text,
      { ...text, senderData: { ...(text.senderData as object), chatId: '79990000000@c.us' } },
      { ...text, instanceData: { ...(text.instanceData as object), idInstance: 4321 } },
      { ...text, typeWebhook: 'outgoingMessageReceived' },
    ]);
    expect(answers.map((a) => a.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
  });

  it('is 32 characters of [A-Za-z0-9_-] and the same on every run for every fixture', async () => {
    for (const file of loadFixtures()) {
      const header = NotificationHeader.parse(file.json);
      const a = await buildEvent(file.json, header, new Date(0));
      const b = await buildEvent(structuredClone(file.json), header, new Date(1_000_000));
      expect(a.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(b.id).toBe(a.id);
    }
  });
});
