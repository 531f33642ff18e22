// `green-relay targets`, `pause` and `resume`: the targets' state from a terminal, and holding one
// by hand (contract §7).
import { adminHeaders, call, CliError, EXIT, failure, flags, relayBase } from './args.ts';
import { ADMIN_TOKEN_HELP } from './admin.ts';

const PAUSE_HELP = `
green-relay pause TARGET --url RELAY_URL [--admin-token T]
green-relay resume TARGET --url RELAY_URL [--admin-token T]

pause holds a target's deliveries, as an open circuit does: nothing is sent to it and no retry is
spent, until it is resumed (a restart keeps it paused). resume lets the held backlog flow again.
${ADMIN_TOKEN_HELP}
`;

const TARGETS_HELP = `
green-relay targets --url RELAY_URL [--admin-token T] [--json]

Lists the targets with their state (closed, open, paused), backlog, dead count and last error.
${ADMIN_TOKEN_HELP}
`;

interface Target {
  name: string;
  state: string;
  openedAt: string | null;
  pending: number;
  held: number;
  dead: number;
  rateLimit: string | null;
  lastError: string | null;
}

const line = (t: Target) =>
  `${t.name}  ${t.state}${t.openedAt && t.state === 'open' ? ` since ${t.openedAt}` : ''}  pending ${t.pending}${t.held ? ` (held)` : ''}  dead ${t.dead}${t.rateLimit ? `  limit ${t.rateLimit}` : ''}${t.lastError ? `  last error: ${t.lastError}` : ''}`;

function pauseOrResume(action: 'pause' | 'resume') {
  return async (args: string[]): Promise<number> => {
    const { values, positionals } = flags(
      args,
      { url: { type: 'string' }, 'admin-token': { type: 'string' } },
      PAUSE_HELP,
    );
    const target = positionals[0];
    if (!target) throw new CliError('a TARGET name is required (see --help)');
    const response = await call(`${relayBase(values.url)}/api/targets/${encodeURIComponent(target)}/${action}`, {
      method: 'POST',
      headers: adminHeaders(values['admin-token']),
    });
    if (!response.ok) throw await failure(response);
    process.stdout.write(`${line((await response.json()) as Target)}\n`);
    return EXIT.ok;
  };
}

export const pause = pauseOrResume('pause');
export const resume = pauseOrResume('resume');

export async function targets(args: string[]): Promise<number> {
  const { values } = flags(
    args,
    { url: { type: 'string' }, 'admin-token': { type: 'string' }, json: { type: 'boolean' } },
    TARGETS_HELP,
  );
  const response = await call(`${relayBase(values.url)}/api/targets`, { headers: adminHeaders(values['admin-token']) });
  if (!response.ok) throw await failure(response);
  const page = (await response.json()) as { items: Target[] };
  process.stdout.write(
    values.json
      ? `${JSON.stringify(page, null, 2)}\n`
      : page.items.length > 0
        ? `${page.items.map(line).join('\n')}\n`
        : 'no targets\n',
  );
  return EXIT.ok;
}
