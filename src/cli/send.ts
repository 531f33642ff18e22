// `green-relay send`: POSTs a notification to a relay exactly as Green API would.
import { readFileSync } from 'node:fs';
import { call, CliError, EXIT, flags, relayBase, required } from './args.ts';

const HELP = `
green-relay send FILE... --url RELAY_URL --token TOKEN
green-relay send - --url RELAY_URL --token TOKEN

POSTs each notification (a JSON file, or standard input for -) to RELAY_URL/webhook, one at a
time and in order, with the headers Green API sends (Content-Type: application/json;
charset=utf-8, Authorization: Bearer TOKEN), and prints each answer. Exit code 0 when the relay
answers 2xx to all of them, 1 otherwise. The token may also come from GREEN_API_TOKEN.
`;

export async function send(args: string[]): Promise<number> {
  const { values, positionals } = flags(args, { url: { type: 'string' }, token: { type: 'string' } }, HELP);
  if (positionals.length === 0) throw new CliError('a FILE (or - for standard input) is required (see --help)');
  const token = required(values.token ?? process.env.GREEN_API_TOKEN, '--token');
  const url = `${relayBase(values.url)}/webhook`;
  // All files are read first, so that a missing one sends nothing.
  const bodies = positionals.map((file) => {
    try {
      return { file, body: new Uint8Array(readFileSync(file === '-' ? 0 : file)) };
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
    }
  });
  let exitCode: number = EXIT.ok;
  for (const { file, body } of bodies) {
    const response = await call(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body,
    });
    process.stdout.write(`${bodies.length > 1 ? `${file}: ` : ''}${response.status} ${await response.text()}\n`);
    if (!response.ok) exitCode = EXIT.failed;
  }
  return exitCode;
}
