// `green-relay connect`: points a Green API instance at the relay with SetSettings, then shows what
// GetSettings reports (https://green-api.com/en/docs/api/account/SetSettings/). Green API documents
// that "the settings are applied within 5 minutes", so a saved setting is a success even while
// GetSettings still shows the old one; `--wait` polls until it shows the new ones.
import { randomBytes } from 'node:crypto';
import { parseDuration } from '../duration.ts';
import { call, CliError, EXIT, failure, flags, relayBase, required } from './args.ts';

const HELP = `
green-relay connect --instance ID --api-token TOKEN --url RELAY_URL [options]
green-relay connect --instance ID --api-token TOKEN --pull [options]

Push (the default): sets the instance's webhookUrl to RELAY_URL/webhook, its webhookUrlToken, and
the webhook toggles, then reads the settings back to confirm. Prints the token to put in the
relay's config.
Pull (--pull, for a relay without a public URL): empties webhookUrl, as Green API requires for its
HTTP API, sets the toggles, and prints the "pull" entry to put in the relay's config.

  --instance ID       idInstance of the Green API instance
  --api-token TOKEN   its apiTokenInstance
  --url RELAY_URL     the relay's public URL (…/webhook is added when missing)
  --api-url URL       the instance's apiUrl (default https://api.green-api.com)
  --token TOKEN       the webhookUrlToken to set (default: a new random one)
  --pull              take notifications with receiveNotification instead (no --url)
  --types LIST        notifications to turn on, comma-separated (default: all):
                      ${'{TYPES}'}
  --wait DURATION     poll GetSettings until it shows the new settings, for at most this
                      long (e.g. 5m); exit code 1 if it does not by then

Green API applies settings within 5 minutes and restarts the instance. Without --wait, connect
succeeds once SetSettings has saved them, and shows what GetSettings reports so far.
`;

/** How often --wait asks GetSettings again. */
const POLL_MS = 2_000;

/** --types names -> the SetSettings toggles they turn on. */
const TOGGLES: Record<string, string[]> = {
  incoming: ['incomingWebhook'],
  outgoing: ['outgoingMessageWebhook'],
  'outgoing-api': ['outgoingAPIMessageWebhook'],
  statuses: ['outgoingWebhook'],
  state: ['stateWebhook'],
  calls: ['incomingCallWebhook'],
  polls: ['pollMessageWebhook'],
  edited: ['editedMessageWebhook'],
  deleted: ['deletedMessageWebhook'],
};

export async function connect(args: string[]): Promise<number> {
  const help = HELP.replace('{TYPES}', Object.keys(TOGGLES).join(', '));
  const { values } = flags(
    args,
    {
      instance: { type: 'string' },
      'api-token': { type: 'string' },
      url: { type: 'string' },
      'api-url': { type: 'string', default: 'https://api.green-api.com' },
      token: { type: 'string' },
      types: { type: 'string' },
      pull: { type: 'boolean' },
      wait: { type: 'string' },
    },
    help,
  );
  const waitMs = values.wait === undefined ? undefined : parseDuration(values.wait);
  if (waitMs === undefined && values.wait !== undefined)
    throw new CliError(`--wait: not a duration such as 30s or 5m: ${values.wait}`);
  const instance = required(values.instance, '--instance');
  if (!/^\d{1,20}$/.test(instance)) throw new CliError(`--instance: must be the digits of idInstance, not ${instance}`);
  const apiToken = required(values['api-token'], '--api-token');
  if (values.pull && (values.url || values.token))
    throw new CliError('--pull takes no --url or --token: a pulled instance sends nothing to the relay');
  const webhookUrl = values.pull ? '' : `${relayBase(values.url)}/webhook`;
  const token = values.pull ? '' : (values.token ?? randomBytes(24).toString('base64url'));
  const types = values.types ? values.types.split(',').map((t) => t.trim()) : Object.keys(TOGGLES);
  const unknown = types.filter((t) => !TOGGLES[t]);
  if (unknown.length > 0)
    throw new CliError(`--types: unknown ${unknown.join(', ')}; choose from ${Object.keys(TOGGLES).join(', ')}`);

  const settings: Record<string, string> = { webhookUrl, webhookUrlToken: token };
  for (const [name, toggles] of Object.entries(TOGGLES))
    for (const toggle of toggles) settings[toggle] = types.includes(name) ? 'yes' : 'no';

  const apiUrl = values['api-url']!.replace(/\/+$/, '');
  const api = `${apiUrl}/waInstance${instance}`;
  const set = await call(`${api}/setSettings/${apiToken}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  if (!set.ok) throw await failure(set);
  const saved = (await set.json()) as { saveSettings?: boolean };
  if (saved.saveSettings !== true)
    throw new CliError(`SetSettings did not save: ${JSON.stringify(saved)}`, EXIT.failed);

  process.stdout.write('SetSettings saved the settings.\n');

  const readBack = async () => {
    const get = await call(`${api}/getSettings/${apiToken}`);
    if (!get.ok) throw await failure(get);
    return compare(settings, (await get.json()) as Record<string, unknown>);
  };
  let report = await readBack();
  if (waitMs !== undefined) {
    const deadline = Date.now() + waitMs;
    while (report.differ.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      report = await readBack();
    }
  }
  process.stdout.write(`${report.lines.join('\n')}\n`);
  if (report.differ.length > 0) {
    const note = 'Green API applies settings within 5 minutes';
    if (waitMs !== undefined) {
      process.stderr.write(
        `green-relay: GetSettings still differs for ${report.differ.join(', ')} after ${values.wait} (${note}; try again later)\n`,
      );
      return EXIT.failed;
    }
    process.stdout.write(
      `GetSettings does not show all of them yet: ${note}. Run with --wait 5m to watch it happen.\n`,
    );
  }

  const lines = values.pull
    ? [
        '',
        `Instance ${instance} keeps ${types.join(', ')} for the relay to pull (webhookUrl is empty).`,
        '',
        'Put this in the relay config (instances), with the apiToken in that environment variable:',
        `  "${instance}": { "pull": { "apiUrl": "${apiUrl}", "apiToken": "\${GREEN_API_API_TOKEN_${instance}}" } }`,
      ]
    : [
        '',
        `Instance ${instance} sends ${types.join(', ')} to ${webhookUrl}`,
        '',
        'Put its token in the relay config (instances):',
        `  "${instance}": { "token": "${token}" }`,
      ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/**
 * What GetSettings shows against what was set: one line per setting, and the names that differ.
 * GetSettings may leave webhookUrlToken out, send it empty or masked: that is "not shown", not a
 * difference (a set token is never shown back by some accounts).
 */
function compare(
  wanted: Record<string, string>,
  shown: Record<string, unknown>,
): { lines: string[]; differ: string[] } {
  const lines = ['GetSettings shows:'];
  const differ: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const now = shown[key];
    if (key === 'webhookUrlToken') {
      const hidden = now === undefined || now === null || now === '' || (typeof now === 'string' && /[*•]/.test(now));
      if (hidden) lines.push(`  ${key}: not shown`);
      else if (now === value) lines.push(`  ${key}: the new token`);
      else {
        lines.push(`  ${key}: another token (not yet the new one)`);
        differ.push(key);
      }
      continue;
    }
    if (now === undefined) lines.push(`  ${key}: not shown`);
    else if (now === value) lines.push(`  ${key}: ${JSON.stringify(now)}`);
    else {
      lines.push(`  ${key}: ${JSON.stringify(now)} (set to ${JSON.stringify(value)})`);
      differ.push(key);
    }
  }
  return { lines, differ };
}
