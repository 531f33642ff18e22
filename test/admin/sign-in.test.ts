// The generated admin token and the sign-in link, run as `npm start` runs the relay: the token is
// generated once into the data folder and survives a restart; the link signs a real browser in;
// the token appears in no log line, no answer body and no URL the browser keeps.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInLines, signInLink } from '../../src/runtimes/data-dir.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { spawnRelay, type RelayProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';
import { TOKEN } from '../helpers/webhook.ts';

const config = { instances: { '*': { token: TOKEN } } };
const dataDir = tempDir();
let browser: Browser;
let page: Page;
const processes: RelayProcess[] = [];

beforeAll(async () => {
  ({ browser } = await launchBrowser());
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  for (const p of processes) p.child.kill('SIGKILL');
});

async function start(): Promise<RelayProcess> {
  const relay = await spawnRelay(config, dataDir);
  processes.push(relay);
  return relay;
}

describe('the generated admin token', () => {
  it('is kept in the data folder for its owner only, is the same after a restart, and is never printed off a terminal', async () => {
    const first = await start();
    const file = join(dataDir, 'admin-token');
    const token = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The banner comes just after the relay.started line that spawnRelay waits for.
    await expect
      .poll(() => first.output())
      .toContain(`sign in with the admin token: the admin token was generated into ${file}`);
    expect(first.output()).not.toContain(token);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await start();
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect((await fetch(`${second.url}/api/events`)).status).toBe(401);
    expect((await fetch(`${second.url}/api/events`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    expect(second.output()).not.toContain(token);
  });

  it('signs a browser in through the link, and the token stays out of URLs, answers and logs', async () => {
    const relay = processes.at(-1)!;
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const urls: string[] = [];
    const bodies: Promise<string>[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('response', (response) => bodies.push(response.text().catch(() => '')));

    await page.goto(signInLink(relay.url, token));
    await page.waitForURL(`${relay.url}/`);
    await page.getByText('No events yet').waitFor();
    expect(page.url()).toBe(`${relay.url}/`);
    // Back goes to the sign-in page without its fragment: history kept no token either.
    await page.goBack();
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate(() => location.hash)).toBe('');

    for (const url of urls) expect(url).not.toContain(token);
    for (const body of await Promise.all(bodies)) expect(body).not.toContain(token);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'green_relay_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toContain(token);
    expect(relay.output()).not.toContain(token);

    // The cookie opens the inspector and the API alike, and nothing else does.
    await page.goto(`${relay.url}/targets`);
    await page.getByText('No targets are configured').waitFor();
    expect((await page.request.get(`${relay.url}/api/events`)).status()).toBe(200);
    expect(
      (await fetch(`${relay.url}/api/events`, { headers: { cookie: `green_relay_session=${token}` } })).status,
    ).toBe(401);
  });

  it('prints the sign-in link on a terminal only', () => {
    expect(signInLines('http://localhost:8787', 'secret-x', '/data/admin-token', true)[0]).toBe(
      'Inspector: http://localhost:8787/login#token=secret-x',
    );
    expect(signInLines('http://localhost:8787', 'secret-x', '/data/admin-token', false).join('\n')).not.toContain(
      'secret-x',
    );
  });
});
