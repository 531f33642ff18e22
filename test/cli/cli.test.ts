// The green-relay command, run as a user runs it (node bin/green-relay.js): connect against a
// local server that answers SetSettings/GetSettings as Green API documents them, send every
// fixture to a running relay, events and replay through the admin API, check-config, exit codes.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, loadFixtures } from '../helpers/fixtures.ts';
import { startRelay, tempDir, TOKEN, type TestRelay } from '../helpers/relay.ts';
import { startSink, type Sink } from '../helpers/sink.ts';

const ADMIN = 'cli-admin-token';

function run(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/green-relay.js', ...args], {
      env: { PATH: process.env.PATH, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * SetSettings / GetSettings as documented: {apiUrl}/waInstance{id}/{method}/{apiTokenInstance}.
 * "The settings are applied within 5 minutes": with `applyAfterMs`, GetSettings shows the old
 * settings until then. With `echoToken: false`, it never shows webhookUrlToken (as some accounts do).
 */
async function fakeGreenApi(
  instance: string,
  apiToken: string,
  options: { applyAfterMs?: number; echoToken?: boolean } = {},
) {
  const settings: Record<string, unknown> = {
    wid: '79001234567@c.us',
    webhookUrl: '',
    webhookUrlToken: '',
    incomingWebhook: 'no',
    outgoingWebhook: 'no',
  };
  let shown = { ...settings };
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const match = /^\/waInstance(\d+)\/(setSettings|getSettings)\/([^/]+)$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (!match || match[1] !== instance || match[3] !== apiToken) {
        res.writeHead(match ? 401 : 404).end(JSON.stringify({ error: 'Unauthorized' }));
      } else if (match[2] === 'setSettings' && req.method === 'POST') {
        Object.assign(settings, JSON.parse(body));
        if (options.applyAfterMs) setTimeout(() => (shown = { ...settings }), options.applyAfterMs);
        else shown = { ...settings };
        res.end(JSON.stringify({ saveSettings: true }));
      } else if (match[2] === 'getSettings' && req.method === 'GET') {
        const { webhookUrlToken, ...rest } = shown;
        res.end(JSON.stringify(options.echoToken === false ? rest : { ...rest, webhookUrlToken }));
      } else {
        res.writeHead(405).end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, settings, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let relay: TestRelay;
let sink: Sink;
beforeAll(async () => {
  sink = await startSink(() => ({ status: 500 }));
  relay = await startRelay({
    admin: { token: ADMIN },
    targets: [{ name: 'crm', url: sink.url, retry: [], circuit: false }],
  });
});
afterAll(async () => {
  await relay.close();
  await sink.close();
});

describe('green-relay connect', () => {
  it('sets webhookUrl, a generated token and the toggles, confirms with GetSettings, and prints the token', async () => {
    const api = await fakeGreenApi('1101000001', 'api-secret');
    try {
      const result = await run([
        'connect',
        '--instance',
        '1101000001',
        '--api-token',
        'api-secret',
        '--url',
        'https://relay.example.com',
        '--api-url',
        api.url,
        '--types',
        'incoming,statuses',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(api.calls).toEqual([
        'POST /waInstance1101000001/setSettings/api-secret',
        'GET /waInstance1101000001/getSettings/api-secret',
      ]);
      expect(api.settings).toMatchObject({
        webhookUrl: 'https://relay.example.com/webhook',
        incomingWebhook: 'yes',
        outgoingWebhook: 'yes',
        stateWebhook: 'no',
        outgoingMessageWebhook: 'no',
      });
      const token = api.settings.webhookUrlToken as string;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(result.stdout).toContain(`"1101000001": { "token": "${token}" }`);
    } finally {
      await api.close();
    }
  });

  it('switches an instance to pull mode: empty webhookUrl, and the pull entry to put in the config', async () => {
    const api = await fakeGreenApi('1101000002', 'api-secret');
    try {
      api.settings.webhookUrl = 'https://old.example.com/hook';
      const result = await run([
        'connect',
        '--instance',
        '1101000002',
        '--api-token',
        'api-secret',
        '--pull',
        '--api-url',
        api.url,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(api.settings).toMatchObject({ webhookUrl: '', webhookUrlToken: '', incomingWebhook: 'yes' });
      expect(result.stdout).toContain(
        `"1101000002": { "pull": { "apiUrl": "${api.url}", "apiToken": "\${GREEN_API_API_TOKEN_1101000002}" } }`,
      );
      expect(
        (
          await run([
            'connect',
            '--instance',
            '1101000002',
            '--api-token',
            'x',
            '--pull',
            '--url',
            'https://r.example.com',
          ])
        ).code,
      ).toBe(2);
    } finally {
      await api.close();
    }
  });

  it('succeeds once the settings are saved, says that Green API applies them within 5 minutes, and --wait watches it happen', async () => {
    const api = await fakeGreenApi('1101000003', 'api-secret', { applyAfterMs: 1_500 });
    try {
      const args = [
        'connect',
        '--instance',
        '1101000003',
        '--api-token',
        'api-secret',
        '--url',
        'https://relay.example.com',
        '--api-url',
        api.url,
        '--types',
        'incoming',
      ];
      const now = await run(args);
      expect(now.code, now.stderr).toBe(0);
      expect(now.stdout).toContain('SetSettings saved the settings.');
      expect(now.stdout).toContain('webhookUrl: "" (set to "https://relay.example.com/webhook")');
      expect(now.stdout).toContain('Green API applies settings within 5 minutes');
      const waited = await run([...args, '--token', 'chosen-token', '--wait', '20s']);
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stdout).toContain('webhookUrl: "https://relay.example.com/webhook"');
      expect(waited.stdout).toContain('webhookUrlToken: the new token');
      expect(waited.stdout).not.toContain('applies settings within');
      const impatient = await run([...args, '--token', 'another-token', '--wait', '100ms']);
      expect(impatient.code).toBe(1);
      expect(impatient.stderr).toContain(
        'GetSettings still differs for webhookUrlToken after 100ms (Green API applies settings within 5 minutes',
      );
    } finally {
      await api.close();
    }
  });

  it('treats a webhookUrlToken that GetSettings never shows as "not shown", not as a difference', async () => {
    const api = await fakeGreenApi('1101000004', 'api-secret', { echoToken: false });
    try {
      const result = await run([
        'connect',
        '--instance',
        '1101000004',
        '--api-token',
        'api-secret',
        '--url',
        'https://relay.example.com',
        '--api-url',
        api.url,
        '--wait',
        '10s',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('webhookUrlToken: not shown');
      expect(result.stdout).not.toContain('applies settings within');
      expect(api.settings.webhookUrlToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    } finally {
      await api.close();
    }
  });

  it('fails with exit code 1 when Green API refuses, and 2 on a bad command line', async () => {
    const api = await fakeGreenApi('1101000001', 'api-secret');
    try {
      const refused = await run([
        'connect',
        '--instance',
        '1101000001',
        '--api-token',
        'wrong',
        '--url',
        'https://r.example.com',
        '--api-url',
        api.url,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('HTTP 401');
      expect(
        (await run(['connect', '--instance', 'abc', '--api-token', 'x', '--url', 'https://r.example.com'])).code,
      ).toBe(2);
      expect(
        (
          await run([
            'connect',
            '--instance',
            '1',
            '--api-token',
            'x',
            '--url',
            'https://r.example.com',
            '--types',
            'everything',
          ])
        ).stderr,
      ).toContain('unknown everything');
      expect((await run(['connect', '--api-token', 'x'])).stderr).toContain('--instance is required');
      expect(
        (
          await run([
            'connect',
            '--instance',
            '1',
            '--api-token',
            'x',
            '--url',
            'https://r.example.com',
            '--wait',
            'soon',
          ])
        ).stderr,
      ).toContain('--wait: not a duration');
    } finally {
      await api.close();
    }
  });
});

describe('green-relay send', () => {
  it('posts every fixture to a running relay as Green API would', async () => {
    const files = loadFixtures().map((f) => join(FIXTURE_DIR, f.name));
    const result = await run(['send', ...files, '--url', relay.url, '--token', TOKEN]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(files.length);
    lines.forEach((line, i) =>
      expect(line).toMatch(new RegExp(`^${files[i]}: 200 \\{"status":"(accepted|duplicate)"`)),
    );
    const one = await run(['send', files[0]!, '--url', relay.url, '--token', TOKEN]);
    expect(one.stdout).toMatch(/^200 \{"status":"duplicate"/);
    const stdin = await run(['send', '-', '--url', `${relay.url}/webhook`, '--token', TOKEN], {
      input: '{"not":"a notification"}',
    });
    expect(stdin.stdout).toContain('"status":"quarantined"');
  });

  it('exits 1 when the relay refuses or is not there, 2 when the file is missing', async () => {
    const file = join(FIXTURE_DIR, 'incomingMessageReceived.textMessage.json');
    expect((await run(['send', file, '--url', relay.url, '--token', 'wrong'])).code).toBe(1);
    const away = await run(['send', file, '--url', 'http://127.0.0.1:9', '--token', TOKEN]);
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('cannot reach http://127.0.0.1:9');
    expect((await run(['send', '/nonexistent.json', '--url', relay.url, '--token', TOKEN])).code).toBe(2);
  });
});

describe('green-relay events and replay', () => {
  it('lists events with their deliveries and replays them', async () => {
    await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'pending'").length).toBe(0);
    const listed = await run(
      ['events', '--url', relay.url, '--status', 'dead', '--type', 'com.green-api.message.status', '--json'],
      { env: { GREEN_RELAY_ADMIN_TOKEN: ADMIN } },
    );
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout);
    expect(page.items).toHaveLength(2);
    const id = page.items[0].id;

    const table = await run(['events', '--url', relay.url, '--admin-token', ADMIN, '--limit', '1']);
    expect(table.stdout.trim().split('\n')).toHaveLength(1);

    const replayed = await run(['replay', id, '--target', 'crm', '--url', relay.url, '--admin-token', ADMIN]);
    expect(replayed).toMatchObject({ code: 0, stdout: 'replayed 1 delivery\n' });
    await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'pending'").length).toBe(0);
    const bulk = await run(['replay', '--dead', '--target', 'crm', '--url', relay.url, '--admin-token', ADMIN]);
    expect(bulk.code).toBe(0);
    expect(bulk.stdout).toMatch(/^replayed \d+ deliveries\n$/);

    expect((await run(['events', '--url', relay.url])).code).toBe(1); // no admin token
    expect((await run(['replay', '--url', relay.url, '--admin-token', ADMIN])).code).toBe(2);
  });
});

describe('green-relay targets, pause and resume', () => {
  it('lists the targets with their state, and pauses and resumes one', async () => {
    const env = { GREEN_RELAY_ADMIN_TOKEN: ADMIN };
    const paused = await run(['pause', 'crm', '--url', relay.url], { env });
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^crm {2}paused /);
    const listed = await run(['targets', '--url', relay.url, '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).items).toEqual([expect.objectContaining({ name: 'crm', state: 'paused' })]);
    const resumed = await run(['resume', 'crm', '--url', relay.url], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await run(['targets', '--url', relay.url], { env })).stdout).not.toContain('paused');

    const unknown = await run(['pause', 'nope', '--url', relay.url], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nope');
    expect((await run(['pause', '--url', relay.url], { env })).code).toBe(2);
    expect((await run(['targets', '--url', relay.url])).code).toBe(1); // no admin token
  });
});

describe("green-relay on the relay's own machine", () => {
  it('finds the admin token the relay generated in its data folder', async () => {
    const own = await startRelay();
    try {
      const listed = await run(['events', '--url', own.url, '--json'], { env: { RELAY_DATA_DIR: own.dataDir } });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({ items: [], next: null });
      expect((await run(['events', '--url', own.url], { env: { RELAY_DATA_DIR: tempDir() } })).code).toBe(1);
    } finally {
      await own.close();
    }
  });
});

describe('green-relay check-config and the rest', () => {
  it('validates a config file, naming every problem', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(
      good,
      JSON.stringify({
        instances: { '*': { token: '${T}' } },
        targets: [{ name: 'crm', url: 'https://crm.example.com' }],
      }),
    );
    writeFileSync(
      bad,
      JSON.stringify({ instances: { '*': { token: '${T}' } }, targets: [{ name: 'crm', url: 'nope' }] }),
    );
    expect(await run(['check-config', good], { env: { T: 'x' } })).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('is valid'),
    });
    const failed = await run(['check-config', bad]);
    expect(failed.code).toBe(78);
    expect(failed.stderr).toContain('instances.*.token: environment variable T is not set');
    expect(failed.stderr).toContain('targets[0].url: must be an absolute http');
    expect((await run(['check-config', join(dir, 'missing.json')])).code).toBe(78);
  });

  it('has --help everywhere, and exit code 2 for an unknown command or flag', async () => {
    for (const command of ['connect', 'send', 'events', 'replay', 'check-config', 'targets', 'pause', 'resume']) {
      const help = await run([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`green-relay ${command}`);
    }
    expect((await run(['--help'])).code).toBe(0);
    expect((await run(['teleport'])).code).toBe(2);
    expect((await run(['send', '--frobnicate'])).code).toBe(2);
  });
});
