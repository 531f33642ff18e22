// What every runtime's harness runs the behaviour cases with: the tokens, one configuration, the
// sink's answers by target, and what a case is.
import type { ConfigInput } from '../../src/config.ts';
import { journalStandIn } from '../helpers/green-api-journals.ts';
import type { SinkReply, SinkRequest } from '../helpers/sink.ts';
import { SECRET } from '../helpers/webhook.ts';

export const TOKEN = 'behaviour-token';
export const OTHER_INSTANCE = '1101000009';
export const OTHER_TOKEN = 'behaviour-other-token';
export const ADMIN = 'behaviour-admin';
/** A second signing secret, for the rotation case. */
export const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1mb3ItdGhlLXJvdGF0aW9u';

/** The instances the cases of issue 14 post for, so that the targets they watch see nothing else. */
export const CIRCUIT_INSTANCE = 1101000777;
export const DEAD_INSTANCE = 1101000778;
export const PERSON_INSTANCE = 1101000779;
export const LIMITED_INSTANCE = 1101000780;
export const ROTATING_INSTANCE = 1101000781;
export const PAUSED_INSTANCE = 1101000782;

/** Issue 15: the instance reconciled from its journals, served by the sink under /green-api (JOURNALS). */
export const RECONCILED_INSTANCE = 1101000791;
export const JOURNAL_API_TOKEN = 'behaviour-journal-api-token';
export const JOURNALS = journalStandIn(String(RECONCILED_INSTANCE), JOURNAL_API_TOKEN, '/green-api');

/** Switches the cases flip to make a target go down and come back. */
export const SWITCHES = { outageUp: true, upSince: 0 };

/** The one configuration every runtime runs the cases with. */
export function behaviourConfig(sink: string): ConfigInput {
  const target = (name: string, extra: object = {}) => ({ name, url: `${sink}/${name}`, ...extra });
  return {
    instances: {
      '*': { token: TOKEN },
      [OTHER_INSTANCE]: { token: OTHER_TOKEN },
      [RECONCILED_INSTANCE]: { token: TOKEN, api: { apiUrl: `${sink}/green-api`, apiToken: JOURNAL_API_TOKEN } },
    },
    // Short, so that the case sees a pass soon; no grace: the case fills the journal after its webhooks.
    reconcile: { every: '1s', overlap: '5m', grace: '0s' },
    admin: { token: ADMIN },
    limits: { maxBodyBytes: 65_536 },
    alerts: { groupEvery: '1s' },
    targets: [
      target('ce'),
      target('binary', { format: 'cloudevents-binary' }),
      target('raw', { format: 'raw' }),
      target('signed', { secret: SECRET }),
      // These test retries and dead letters: their circuits would hold them (see the circuit cases).
      target('flaky', { retry: ['50ms'], circuit: false }),
      target('later', { retry: ['50ms'], circuit: false }),
      target('gone', { retry: ['50ms', '50ms'], circuit: false }),
      target('broken', { retry: ['50ms', '50ms'], circuit: false }),
      target('statuses', { types: ['com.green-api.message.status'] }),
      // Issue 14: a target that goes down for longer than its whole schedule, per-chat ordered.
      target('outage', {
        instances: [String(CIRCUIT_INSTANCE)],
        retry: ['50ms', '50ms'],
        ordering: 'per-chat',
        circuit: { afterFailures: 2, probeEvery: '200ms', holdFor: '1h' },
      }),
      target('doomed', { instances: [String(DEAD_INSTANCE)], retry: [], circuit: false }),
      target('limited', { instances: [String(LIMITED_INSTANCE)], rateLimit: '10/s', concurrency: 10 }),
      target('rotating', { instances: [String(ROTATING_INSTANCE)], secret: [SECRET, NEW_SECRET] }),
      target('paused', { instances: [String(PAUSED_INSTANCE)] }),
      // Alert targets, each narrowed to what one case watches.
      target('alerts-slack', {
        format: 'slack',
        types: ['com.green-relay.target.*'],
        where: { 'data.target': 'outage' },
      }),
      target('alerts-ce', { types: ['com.green-relay.*'], where: { 'data.target': { $in: ['outage', 'doomed'] } } }),
      target('people', {
        format: 'slack',
        types: ['com.green-relay.instance.*'],
        where: { 'data.instance': String(PERSON_INSTANCE) },
      }),
      target('paused-alerts', { types: ['com.green-relay.target.paused', 'com.green-relay.target.resumed'] }),
    ],
  };
}

/** How the sink answers: by target (the path) and by how often it has seen this webhook-id there. */
export function behaviourResponder(): (request: SinkRequest) => SinkReply {
  const seen = new Map<string, number>();
  return (request) => {
    const journal = JOURNALS.respond(request);
    if (journal) return journal;
    const key = `${request.path}:${request.headers['webhook-id']}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    switch (request.path) {
      case '/flaky':
        return { status: n === 1 ? 500 : 200 };
      case '/later':
        return n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
      case '/gone':
        return { status: 410 };
      case '/broken':
      case '/doomed':
        return { status: 500 };
      case '/outage':
        return { status: SWITCHES.outageUp ? 200 : 503 };
      default:
        return { status: 200 };
    }
  };
}

export interface BehaviourContext {
  url: string;
  /** The relay behind a reverse proxy on the same host (test/helpers/proxy-server.ts): every caller looks like loopback. */
  proxy: string;
  requests: SinkRequest[];
}

export interface BehaviourCase {
  name: string;
  run(ctx: BehaviourContext): Promise<void>;
}
