// `npm start`: the relay on Node. Reads PORT, HOST, RELAY_CONFIG and RELAY_DATA_DIR; without a
// config file it starts in demo mode (one generated token for every instance, no targets, each
// event printed), so that a first run shows something at once.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig, validateConfig, type RelayConfig } from '../config.ts';
import type { RelayEvent } from '../event.ts';
import { createJsonLogger } from '../log.ts';
import { startNodeRelay } from './node-relay.ts';

const env = process.env;
const port = Number(env.PORT ?? 8787);
const dataDir = env.RELAY_DATA_DIR ?? './data';
const configPath = env.RELAY_CONFIG ?? './relay.config.json';
const logger = createJsonLogger((line) => process.stdout.write(`${line}\n`));

function loadConfig(): { config: RelayConfig; demoToken?: string } {
  if (existsSync(configPath)) return { config: parseConfig(readFileSync(configPath, 'utf8'), env, configPath) };
  if (env.RELAY_CONFIG) throw new ConfigError(configPath, ['(file): not found (RELAY_CONFIG names it)']);
  const demoToken = demoTokenIn(dataDir);
  return { config: validateConfig({ instances: { '*': { token: demoToken } } }, {}, 'demo mode'), demoToken };
}

/** The demo token survives restarts, so the webhookUrlToken set in Green API keeps working. */
function demoTokenIn(dir: string): string {
  const file = join(dir, 'demo-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

const SAMPLE = JSON.stringify({
  typeWebhook: 'incomingMessageReceived',
  instanceData: { idInstance: 1101000001, wid: '79001234567@c.us', typeInstance: 'whatsapp' },
  timestamp: 1700000000,
  idMessage: 'DEMO0001',
  senderData: { chatId: '79007654321@c.us', sender: '79007654321@c.us', senderName: 'Demo' },
  messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'Hello from green-relay' } },
});

function printDemoBanner(url: string, token: string): void {
  process.stderr.write(
    [
      '',
      'green-relay is running in demo mode: no config file at ' + configPath + '.',
      'It accepts notifications of any instance with this token and prints each one; it delivers nowhere.',
      '',
      `  webhookUrl:       ${url}/webhook   (expose it publicly, e.g. through a tunnel)`,
      `  webhookUrlToken:  ${token}`,
      '',
      'Set both in the Green API console (or with SetSettings), or try it now:',
      `  curl -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' ${url}/webhook \\`,
      `       --data '${SAMPLE}'`,
      '',
      `Watch what arrives in the inspector: ${url}/ (from this machine)`,
      'Write relay.config.json (see README.md) to add targets.',
      '',
    ].join('\n'),
  );
}

function printEvent(event: RelayEvent): void {
  const text = event.data.message?.text;
  process.stderr.write(`→ ${event.type}  ${event.subject ?? '-'}  ${event.data.message?.kind ?? event.data.state ?? event.data.status?.value ?? ''}${text ? `  "${text}"` : ''}\n`);
}

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n\nThe relay did not start. Fix the configuration and run it again.\n`);
    process.exit(78); // EX_CONFIG
  }
  const { config, demoToken } = loaded;
  const relay = await startNodeRelay({
    config,
    dataDir,
    port,
    hostname: env.HOST,
    logger,
    onAccepted: demoToken ? printEvent : undefined,
  });
  if (demoToken) printDemoBanner(relay.url, demoToken);

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
}

await main();
