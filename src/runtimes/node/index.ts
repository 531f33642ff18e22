// `npm start`: the relay on Node. Reads PORT, HOST, RELAY_CONFIG, RELAY_DATA_DIR, and
// RELAY_DATABASE_URL and RELAY_ID for a store shared with other relays on Postgres; without a
// config file it starts in demo mode (one generated token for every instance, no targets, each
// event printed), so that a first run shows something at once.
import { createJsonLogger } from '../../log.ts';
import { demoBanner, eventLine, loadConfigOrExit, type Console } from '../config-file.ts';
import { DataDirInUse, signInLines } from '../data-dir.ts';
import { DatabaseUnavailable } from '../../store/postgres/store.ts';
import { startNodeRelay, type NodeRelay } from './relay.ts';

const env = process.env;
const dataDir = env.RELAY_DATA_DIR ?? './data';
// The lines of one turn go out in one write: with three targets a notification logs four lines,
// and each write to a file or pipe is a system call (measured in the note of issue 17).
let lines: string[] = [];
const flushLines = () => {
  if (lines.length === 0) return;
  process.stdout.write(lines.join(''));
  lines = [];
};
process.on('exit', flushLines);
const logger = createJsonLogger((line) => {
  if (lines.push(`${line}\n`) === 1) setImmediate(flushLines);
});
const io: Console = { say: (text) => void process.stderr.write(text), exit: (code) => process.exit(code) };

const { config, configPath, demoToken } = loadConfigOrExit(env, dataDir, io);
let relay: NodeRelay;
try {
  relay = await startNodeRelay({
    config,
    dataDir,
    databaseUrl: env.RELAY_DATABASE_URL || undefined,
    relayId: env.RELAY_ID || undefined,
    port: Number(env.PORT ?? 8787),
    hostname: env.HOST,
    logger,
    onAccepted: demoToken ? (event) => io.say(eventLine(event)) : undefined,
  });
} catch (err) {
  if (!(err instanceof DataDirInUse || err instanceof DatabaseUnavailable)) throw err;
  io.say(`green-relay did not start: ${err.message}\n`);
  io.exit(1);
}
if (demoToken) io.say(demoBanner(relay.url, demoToken, configPath));
io.say(
  `${signInLines(relay.url, relay.admin.token, relay.admin.generated, process.stderr.isTTY === true).join('\n')}\n`,
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('relay.stopping', { signal });
  await relay.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
