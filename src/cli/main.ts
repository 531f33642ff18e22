// The green-relay command line: connect a Green API instance, send notifications, list and
// replay events, check a config file.
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '../config.ts';
import { VERSION } from '../version.ts';
import { replay, events } from './admin.ts';
import { CliError, EXIT, flags } from './args.ts';
import { connect } from './connect.ts';
import { send } from './send.ts';
import { pause, resume, targets } from './targets.ts';

const HELP = `
green-relay ${VERSION}: Green API webhooks, verified, normalized, stored and fanned out.

  green-relay connect       point a Green API instance at the relay (SetSettings)
  green-relay send          POST a notification to a relay as Green API would
  green-relay events        list events and their deliveries
  green-relay replay        deliver an event again, or a target's dead letters
  green-relay targets       list the targets and their state (closed, open, paused)
  green-relay pause         hold a target's deliveries until it is resumed
  green-relay resume        let a paused target's held deliveries flow
  green-relay check-config  validate a config file

Run any command with --help for its options. The relay itself starts with \`npm start\`.
`;

const CHECK_HELP = `
green-relay check-config [FILE]

Validates FILE (default: $RELAY_CONFIG or ./relay.config.json), resolving \${NAME} from the
environment. Exit code 0 when it is valid, 78 when it is not, with one line per problem.
`;

function checkConfig(args: string[]): number {
  const { positionals } = flags(args, {}, CHECK_HELP);
  const file = positionals[0] ?? process.env.RELAY_CONFIG ?? './relay.config.json';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.config);
  }
  try {
    const config = parseConfig(text, process.env, file);
    const instances = Object.keys(config.instances).join(', ');
    process.stdout.write(
      `${file} is valid: instances ${instances}; targets ${config.targets.map((t) => `${t.name} (${t.format})`).join(', ') || 'none'}\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }
}

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  connect,
  send,
  events,
  replay,
  targets,
  pause,
  resume,
  'check-config': checkConfig,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${HELP.trim()}\n`);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const run = COMMANDS[command];
  if (!run) throw new CliError(`unknown command: ${command}\n${HELP.trim()}`);
  return run(args);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  process.stderr.write(`green-relay: ${err.message}\n`);
  process.exitCode = err.exitCode;
}
