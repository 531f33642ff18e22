// `green-relay connect`: points a Green API instance at the relay with SetSettings, then reads
// the settings back with GetSettings to confirm (https://green-api.com/en/docs/api/account/SetSettings/).
import { randomBytes } from 'node:crypto';
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

Green API applies settings within 5 minutes and restarts the instance.
`;

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
    },
    help,
  );
  const instance = required(values.instance, '--instance');
  if (!/^\d{1,20}$/.test(instance)) throw new CliError(`--instance: must be the digits of idInstance, not ${instance}`);
  const apiToken = required(values['api-token'], '--api-token');
  if (values.pull && (values.url || values.token)) throw new CliError('--pull takes no --url or --token: a pulled instance sends nothing to the relay');
  const webhookUrl = values.pull ? '' : `${relayBase(values.url)}/webhook`;
  const token = values.pull ? '' : (values.token ?? randomBytes(24).toString('base64url'));
  const types = values.types ? values.types.split(',').map((t) => t.trim()) : Object.keys(TOGGLES);
  const unknown = types.filter((t) => !TOGGLES[t]);
  if (unknown.length > 0) throw new CliError(`--types: unknown ${unknown.join(', ')}; choose from ${Object.keys(TOGGLES).join(', ')}`);

  const settings: Record<string, string> = { webhookUrl, webhookUrlToken: token };
  for (const [name, toggles] of Object.entries(TOGGLES)) for (const toggle of toggles) settings[toggle] = types.includes(name) ? 'yes' : 'no';

  const apiUrl = values['api-url']!.replace(/\/+$/, '');
  const api = `${apiUrl}/waInstance${instance}`;
  const set = await call(`${api}/setSettings/${apiToken}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  if (!set.ok) throw await failure(set);
  const saved = (await set.json()) as { saveSettings?: boolean };
  if (saved.saveSettings !== true) throw new CliError(`SetSettings did not save: ${JSON.stringify(saved)}`, EXIT.failed);

  const get = await call(`${api}/getSettings/${apiToken}`);
  if (!get.ok) throw await failure(get);
  const now = (await get.json()) as Record<string, unknown>;
  const off = Object.entries(settings).filter(([key, value]) => now[key] !== undefined && now[key] !== value);
  if (now.webhookUrl !== webhookUrl) throw new CliError(`GetSettings shows webhookUrl ${JSON.stringify(now.webhookUrl)}, not ${webhookUrl}`, EXIT.failed);
  if (off.length > 0) throw new CliError(`GetSettings differs for ${off.map(([key]) => key).join(', ')}`, EXIT.failed);

  const lines = values.pull
    ? [
        `Instance ${instance} now keeps ${types.join(', ')} for the relay to pull (webhookUrl is empty).`,
        '(Green API applies settings within 5 minutes and restarts the instance.)',
        '',
        'Put this in the relay config (instances), with the apiToken in that environment variable:',
        `  "${instance}": { "pull": { "apiUrl": "${apiUrl}", "apiToken": "\${GREEN_API_API_TOKEN_${instance}}" } }`,
      ]
    : [
        `Instance ${instance} now sends ${types.join(', ')} to ${webhookUrl}`,
        '(Green API applies settings within 5 minutes and restarts the instance.)',
        '',
        'Put its token in the relay config (instances):',
        `  "${instance}": { "token": "${token}" }`,
      ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
