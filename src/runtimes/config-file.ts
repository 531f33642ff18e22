// What `npm start` and `deno task start` share: finding the config (RELAY_CONFIG or
// ./relay.config.json) or starting in demo mode, refusing a bad one, and what demo mode prints.
// node:fs works in both runtimes.
import { existsSync, readFileSync } from 'node:fs';
import { CONFIG_EXIT_CODE, ConfigError, parseConfig, validateConfig, type RelayConfig } from '../config.ts';
import type { RelayEvent } from '../event.ts';
import { secretIn } from './data-dir.ts';

type Env = Record<string, string | undefined>;

/** How an entry talks to its operator before its logger runs: a line on stderr, and the exit. */
export interface Console {
  say(text: string): void;
  exit(code: number): never;
}

/** loadConfig, or a refused start: the problems on stderr and exit code 78. */
export function loadConfigOrExit(env: Env, dataDir: string, io: Console): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(env, dataDir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.say(`${err.message}\n\nThe relay did not start. Fix the configuration and run it again.\n`);
    return io.exit(CONFIG_EXIT_CODE);
  }
}

/** The config from RELAY_CONFIG or ./relay.config.json; without either, demo mode and its token. Throws ConfigError. */
export function loadConfig(env: Env, dataDir: string): { config: RelayConfig; configPath: string; demoToken?: string } {
  const configPath = env.RELAY_CONFIG ?? './relay.config.json';
  if (existsSync(configPath))
    return { config: parseConfig(readFileSync(configPath, 'utf8'), env, configPath), configPath };
  if (env.RELAY_CONFIG) throw new ConfigError(configPath, ['(file): not found (RELAY_CONFIG names it)']);
  // The demo token survives restarts, so the webhookUrlToken set in Green API keeps working.
  const demoToken = secretIn(dataDir, 'demo-token').value;
  return {
    config: validateConfig({ instances: { '*': { token: demoToken } } }, {}, 'demo mode'),
    configPath,
    demoToken,
  };
}

const SAMPLE = JSON.stringify({
  typeWebhook: 'incomingMessageReceived',
  instanceData: { idInstance: 1101000001, wid: '79001234567@c.us', typeInstance: 'whatsapp' },
  timestamp: 1700000000,
  idMessage: 'DEMO0001',
  senderData: { chatId: '79007654321@c.us', sender: '79007654321@c.us', senderName: 'Demo' },
  messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'Hello from green-relay' } },
});

/** What a first run prints: the URL and token to give Green API, and how to try it. */
export function demoBanner(url: string, token: string, configPath: string): string {
  return [
    '',
    `green-relay is running in demo mode: no config file at ${configPath}.`,
    'It accepts notifications of any instance with this token and prints each one; it delivers nowhere.',
    '',
    `  webhookUrl:       ${url}/webhook   (expose it publicly, e.g. through a tunnel)`,
    `  webhookUrlToken:  ${token}`,
    '',
    'Set both in the Green API console (or with SetSettings), or try it now:',
    `  curl -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' ${url}/webhook \\`,
    `       --data '${SAMPLE}'`,
    '',
    'Watch what arrives in the inspector (link below). Write relay.config.json (see README.md) to add targets.',
    '',
  ].join('\n');
}

/** One line per event, for demo mode. */
export function eventLine(event: RelayEvent): string {
  const text = event.data.message?.text;
  return `→ ${event.type}  ${event.subject ?? '-'}  ${event.data.message?.kind ?? event.data.state ?? event.data.status?.value ?? ''}${text ? `  "${text}"` : ''}\n`;
}
