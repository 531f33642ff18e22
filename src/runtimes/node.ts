// `npm start`: the relay on Node. Reads PORT, HOST, RELAY_CONFIG and RELAY_DATA_DIR; without a
// config file it starts in demo mode (one generated token for every instance, no targets, each
// event printed), so that a first run shows something at once.
import { ConfigError } from '../config.ts';
import { createJsonLogger } from '../log.ts';
import { DataDirInUse, signInLines } from './data-dir.ts';
import { startNodeRelay, type NodeRelay } from './node-relay.ts';
import { CONFIG_EXIT_CODE, demoBanner, eventLine, loadConfig } from './startup.ts';

const env = process.env;
const dataDir = env.RELAY_DATA_DIR ?? './data';
const logger = createJsonLogger((line) => process.stdout.write(`${line}\n`));

let loaded: ReturnType<typeof loadConfig>;
try {
  loaded = loadConfig(env, dataDir);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n\nThe relay did not start. Fix the configuration and run it again.\n`);
  process.exit(CONFIG_EXIT_CODE);
}
const { config, configPath, demoToken } = loaded;
let relay: NodeRelay;
try {
  relay = await startNodeRelay({
    config,
    dataDir,
    port: Number(env.PORT ?? 8787),
    hostname: env.HOST,
    logger,
    onAccepted: demoToken ? (event) => process.stderr.write(eventLine(event)) : undefined,
  });
} catch (err) {
  if (!(err instanceof DataDirInUse)) throw err;
  process.stderr.write(`green-relay did not start: ${err.message}\n`);
  process.exit(1);
}
if (demoToken) process.stderr.write(demoBanner(relay.url, demoToken, configPath));
process.stderr.write(`${signInLines(relay.url, relay.admin.token, relay.admin.generated, process.stderr.isTTY === true).join('\n')}\n`);

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
