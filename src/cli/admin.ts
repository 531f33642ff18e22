// `green-relay events` and `green-relay replay`: the admin API from a terminal.
import { adminHeaders, call, CliError, EXIT, failure, flags, relayBase } from './args.ts';

export const ADMIN_TOKEN_HELP = `The admin token comes from --admin-token, GREEN_RELAY_ADMIN_TOKEN or RELAY_ADMIN_TOKEN, or on
the relay's own machine from the one it generated (RELAY_DATA_DIR/admin-token, default ./data).
The URL may also come from GREEN_RELAY_URL.`;

const EVENTS_HELP = `
green-relay events --url RELAY_URL [--admin-token T] [filters] [--json]

Lists events, newest first, with the state of each delivery.

  --status S        dead, pending, delivered or quarantined
  --type T          exact type or prefix wildcard (com.green-api.message.*)
  --instance ID     --chat CHAT_ID     --target NAME
  --since TIME      --until TIME       (RFC 3339 or Unix time)
  --limit N         at most N events (default 50)
  --json            print the API's JSON
${ADMIN_TOKEN_HELP}
`;

const REPLAY_HELP = `
green-relay replay EVENT_ID [--target NAME] --url RELAY_URL [--admin-token T]
green-relay replay --dead --target NAME --url RELAY_URL [--admin-token T]

Delivers an event again now, as a new attempt series with the same event id and webhook-id (to
one target, or to all of its targets); or replays every dead delivery of one target.
${ADMIN_TOKEN_HELP}
`;

interface Listed {
  id: string;
  type?: string;
  subject?: string | null;
  receivedAt: string;
  reason?: string;
  deliveries?: { target: string; status: string; attempts: number }[];
}

export async function events(args: string[]): Promise<number> {
  const filters = ['status', 'type', 'instance', 'chat', 'target', 'since', 'until', 'limit'] as const;
  const { values } = flags(
    args,
    {
      url: { type: 'string' },
      'admin-token': { type: 'string' },
      json: { type: 'boolean' },
      ...Object.fromEntries(filters.map((name) => [name, { type: 'string' as const }])),
    },
    EVENTS_HELP,
  );
  const query = new URLSearchParams();
  for (const name of filters) {
    const value = (values as Record<string, unknown>)[name];
    if (typeof value === 'string') query.set(name, value);
  }
  const response = await call(`${relayBase(values.url)}/api/events?${query}`, {
    headers: adminHeaders(values['admin-token']),
  });
  if (!response.ok) throw await failure(response);
  const page = (await response.json()) as { items: Listed[]; next: string | null };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const e of page.items) {
    const detail =
      e.reason ??
      (e.deliveries ?? []).map((d) => `${d.target}:${d.status}${d.attempts > 1 ? `×${d.attempts}` : ''}`).join(' ');
    process.stdout.write(`${e.receivedAt}  ${e.id}  ${e.type ?? 'quarantined'}  ${e.subject ?? '-'}  ${detail}\n`);
  }
  if (page.items.length === 0) process.stdout.write('no events\n');
  return EXIT.ok;
}

export async function replay(args: string[]): Promise<number> {
  const { values, positionals } = flags(
    args,
    {
      url: { type: 'string' },
      'admin-token': { type: 'string' },
      target: { type: 'string' },
      dead: { type: 'boolean' },
    },
    REPLAY_HELP,
  );
  const base = relayBase(values.url);
  let path: string;
  if (values.dead) {
    if (!values.target) throw new CliError('--dead needs --target NAME');
    path = `/api/targets/${encodeURIComponent(values.target)}/replay-dead`;
  } else {
    const id = positionals[0];
    if (!id) throw new CliError('an EVENT_ID (or --dead --target NAME) is required (see --help)');
    path = `/api/events/${encodeURIComponent(id)}/replay${values.target ? `?target=${encodeURIComponent(values.target)}` : ''}`;
  }
  const response = await call(`${base}${path}`, { method: 'POST', headers: adminHeaders(values['admin-token']) });
  if (!response.ok) throw await failure(response);
  const { replayed } = (await response.json()) as { replayed: number };
  process.stdout.write(`replayed ${replayed} deliver${replayed === 1 ? 'y' : 'ies'}\n`);
  return EXIT.ok;
}
