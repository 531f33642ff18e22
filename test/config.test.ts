// Configuration (contract §5): interpolation, validation errors that name their path, defaults,
// the published JSON Schema, and a bad config stopping the real entry point.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config-schema.ts';
import { ConfigError, parseConfig } from '../src/config.ts';
import { tempDir } from './helpers/tmp.ts';

const base = { instances: { '*': { token: 't' } } };
const target = { name: 'crm', url: 'https://crm.example.com/hook' };

function issues(config: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(JSON.stringify(config), env, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('the config was accepted');
}

describe('parseConfig', () => {
  it('fills in the defaults of contract §4 and §5', () => {
    const config = parseConfig(JSON.stringify({ ...base, targets: [target] }), {});
    expect(config.targets[0]).toEqual({
      ...target,
      format: 'cloudevents',
      headers: {},
      timeoutMs: 10_000,
      retryMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      concurrency: 10,
      ordering: 'none',
      secrets: [],
      circuit: { afterFailures: 10, probeEveryMs: 60_000, holdForMs: 7 * 24 * 3_600_000 },
      rateLimit: null,
      media: 'original',
    });
    expect(config.alerts.groupEveryMs).toBe(5 * 60_000);
    // Nothing names API credentials or asks for the archive: both off.
    expect(config.reconcile).toBeNull();
    expect(config.media).toBeNull();
    expect(config.limits.maxBodyBytes).toBe(1_048_576);
    expect(config.dedupWindowMs).toBe(48 * 3_600_000);
    expect(config.retentionMs).toBe(7 * 24 * 3_600_000);
  });

  it('replaces ${NAME} anywhere in a string, and keeps $${NAME} literal', () => {
    const config = parseConfig(
      JSON.stringify({
        instances: { '1101000001': { token: '${TOKEN_1}' } },
        targets: [{ ...target, headers: { Authorization: 'Bearer ${CRM}', 'X-Raw': '$${NOT_ME}' } }],
      }),
      { TOKEN_1: 'abc', CRM: 'xyz' },
    );
    expect(config.instances['1101000001']!.token).toBe('abc');
    expect(config.targets[0]!.headers).toEqual({ Authorization: 'Bearer xyz', 'X-Raw': '${NOT_ME}' });
  });

  it('names a missing environment variable and where it is used', () => {
    expect(issues({ ...base, targets: [target, { ...target, name: 'b', secret: '${CRM_SIGNING_SECRET}' }] })).toEqual([
      'targets[1].secret: environment variable CRM_SIGNING_SECRET is not set',
    ]);
  });

  it.each([
    [
      'a bad URL',
      { ...base, targets: [target, { ...target, name: 'b', url: 'crm.example.com' }] },
      /^targets\[1\]\.url: must be an absolute http/,
    ],
    ['a non-http URL', { ...base, targets: [{ ...target, url: 'ftp://x' }] }, /^targets\[0\]\.url: /],
    ['an unknown format', { ...base, targets: [{ ...target, format: 'xml' }] }, /^targets\[0\]\.format: .*cloudevents/],
    [
      'a bad retry duration',
      { ...base, targets: [{ ...target, retry: ['5s', 'soon'] }] },
      /^targets\[0\]\.retry\[1\]: must be a duration/,
    ],
    [
      'a bad secret',
      { ...base, targets: [{ ...target, secret: 'hunter2' }] },
      /^targets\[0\]\.secret: must be "whsec_"/,
    ],
    [
      'a reserved header',
      { ...base, targets: [{ ...target, headers: { 'Webhook-Id': 'x' } }] },
      /^targets\[0\]\.headers\.Webhook-Id: is set by the relay/,
    ],
    [
      'a header value with a line break',
      { ...base, targets: [{ ...target, headers: { 'X-A': 'a\r\nX-B: b' } }] },
      /^targets\[0\]\.headers\.X-A: must not contain line breaks/,
    ],
    [
      'two targets with one name',
      { ...base, targets: [target, target] },
      /^targets\[1\]\.name: "crm" is used by another target/,
    ],
    [
      'a bad type filter',
      { ...base, targets: [{ ...target, types: ['com.green-api.*.received'] }] },
      /^targets\[0\]\.types\[0\]: /,
    ],
    ['an instance key that is no id', { instances: { abc: { token: 't' } } }, /^instances\.abc: .*idInstance/],
    ['an empty token', { instances: { '*': { token: '' } } }, /^instances\.\*\.token: must not be empty/],
    ['no instances', {}, /^instances: /],
    [
      'an instance with neither token nor pull',
      { instances: { '1': {} } },
      /^instances\.1\.token: is required \(or "pull"/,
    ],
    [
      'a pulled instance with a token',
      { instances: { '1': { token: 't', pull: { apiUrl: 'https://1101.api.green-api.com', apiToken: 'a' } } } },
      /^instances\.1\.token: a pulled instance takes no token/,
    ],
    [
      'a pulled "*"',
      { instances: { '*': { pull: { apiUrl: 'https://1101.api.green-api.com', apiToken: 'a' } } } },
      /^instances\.\*\.pull: only a named instance/,
    ],
    ['a pull without apiUrl', { instances: { '1': { pull: { apiToken: 'a' } } } }, /^instances\.1\.pull\.apiUrl: /],
    [
      'a receiveTimeout out of range',
      { instances: { '1': { pull: { apiUrl: 'https://x.example.com', apiToken: 'a', receiveTimeout: 90 } } } },
      /^instances\.1\.pull\.receiveTimeout: /,
    ],
    ['an unknown key', { ...base, tragets: [] }, /^\(root\): .*tragets/],
    ['a bad dedup window', { ...base, dedupWindow: '2 days' }, /^dedupWindow: must be a duration/],
  ])('rejects %s, naming the path', (_, config, expected) => {
    const found = issues(config);
    expect(
      found.some((line) => expected.test(line)),
      found.join('\n'),
    ).toBe(true);
  });

  it('says where a file is not JSON', () => {
    expect(() => parseConfig('{ "instances": ', {}, 'relay.config.json')).toThrow(
      /relay\.config\.json[\s\S]*not valid JSON/,
    );
  });
});

describe('relay.config.schema.json', () => {
  it('is the schema generated from src/config.ts (run `npm run schema` after changing it)', () => {
    const committed = JSON.parse(readFileSync(new URL('../relay.config.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes the example of the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = /```json\n(\{\n  "\$schema"[\s\S]*?)```/.exec(readme)?.[1];
    expect(example, 'README has a config example starting with "$schema"').toBeDefined();
    const env = Object.fromEntries(
      [...example!.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => [name, `value-of-${name}`]),
    );
    // Secrets must look like secrets; everything else may be any string.
    expect(() =>
      parseConfig(example!, {
        ...env,
        CRM_SIGNING_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T0/B0/x',
      }),
    ).not.toThrow();
  });
});

describe('start-up', () => {
  it('stops with exit code 78 and an actionable message when the config is bad', () => {
    const dir = tempDir();
    const file = join(dir, 'relay.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        instances: { '*': { token: '${GREEN_API_TOKEN}' } },
        targets: [{ name: 'x', url: 'nope', format: 'xml' }],
      }),
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/runtimes/node/index.ts'], {
      env: { PATH: process.env.PATH, RELAY_CONFIG: file, RELAY_DATA_DIR: dir, PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`Invalid configuration (${file})`);
    expect(run.stderr).toContain('instances.*.token: environment variable GREEN_API_TOKEN is not set');
    expect(run.stderr).toContain('The relay did not start');
  });

  it('stops when RELAY_CONFIG names a file that does not exist', () => {
    const dir = tempDir();
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/runtimes/node/index.ts'], {
      env: { PATH: process.env.PATH, RELAY_CONFIG: join(dir, 'missing.json'), RELAY_DATA_DIR: dir, PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('not found');
  });
});
