// The web inspector in a real browser (a headless Chromium driven by playwright-core, see helpers/browser.ts): sign in,
// watch an event arrive live, open it, replay a dead delivery and see the new attempt. A
// screenshot of each page is saved in test-artifacts/inspector/.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { startRelay, type TestRelay } from '../helpers/relay.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { launchBrowser } from '../helpers/browser.ts';

const ADMIN = 'inspector-admin-token';
const ARTIFACTS = new URL('../../test-artifacts/inspector/', import.meta.url).pathname;
let browser: Browser;
let page: Page;
let relay: TestRelay;
let sink: Sink;
let healthy = false;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  sink = await startSink(() => ({ status: healthy ? 200 : 503, body: 'maintenance' }));
  relay = await startRelay({ admin: { token: ADMIN }, targets: [{ name: 'crm', url: sink.url, retry: [] }] });
  ({ browser } = await launchBrowser());
  page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await sink?.close();
});

const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

describe('the inspector', () => {
  it('asks for the admin token, then shows events arriving live', async () => {
    await page.goto(`${relay.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=token]', 'not-it');
    await page.click('button[type=submit]');
    await page.getByText('That is not the admin token').waitFor();
    await page.fill('input[name=token]', ADMIN);
    await page.click('button[type=submit]');
    await page.getByText('No events yet').waitFor();
    await shot('events-empty');

    // Wait until the page's live stream is open, then let Green API send something.
    await page.locator('body[data-live=on]').waitFor();
    expect((await relay.post(fixture('incomingMessageReceived.textMessage.json').bytes)).status).toBe(200);
    await page.locator('tr.live', { hasText: 'com.green-api.message.received' }).waitFor();
    expect(await page.locator('tr.live').textContent()).toContain('79001234568@c.us');
    expect(await page.locator('tr.live').textContent()).toContain(
      'text "I use Green-API to send this message to you!"',
    );
    await shot('events-live');
  });

  it('shows the event, and a replay of its dead delivery adds an attempt', async () => {
    await expect.poll(() => relay.query('SELECT status FROM deliveries').map((r: any) => r.status)).toEqual(['dead']);
    await page.reload();
    await page.click('a:has-text("com.green-api.message.received")');
    await page.getByText('Raw notification').waitFor();
    expect(await page.locator('ol.attempts li').count()).toBe(1);
    expect(await page.locator('ol.attempts li').first().textContent()).toContain('503');
    expect(await page.locator('pre').first().textContent()).toContain('"kind": "text"');
    await shot('event-dead');

    healthy = true;
    await page.click('form[action*="replay?target=crm"] button');
    await page.getByText('Replayed 1 delivery.').waitFor();
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('ol.attempts li').count();
      })
      .toBe(2);
    expect(await page.locator('ol.attempts li').nth(1).textContent()).toMatch(/2\.1 .* 200 /);
    await shot('event-replayed');
  });

  it('shows dead letters, the quarantine and target health', async () => {
    await relay.post('{"broken": true');
    for (const [name, path, text] of [
      ['dead', '/dead', 'Dead letters'],
      ['quarantine', '/quarantine', 'body is not JSON'],
      ['targets', '/targets', 'crm'],
    ] as const) {
      await page.goto(`${relay.url}${path}`);
      await page.getByText(text).first().waitFor();
      await shot(name);
    }
    expect(await page.locator('td', { hasText: '% of' }).textContent()).toBe('50.0% of 2');
  });

  it("shows each target's state with pause and resume, and charts of the last 24 hours", async () => {
    await page.goto(`${relay.url}/targets`);
    const row = page.locator('#target-crm');
    await row.getByText('closed').waitFor();
    expect(await row.textContent()).toContain('opens after 10 failures');
    // The attempts so far (a 503, then the replay's 200) are drawn as columns of their outcome.
    expect(await page.locator('figure.chart svg path.series').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('figure.chart figcaption').first().textContent()).toMatch(
      /crm: attempts per minute.*delivered 1.*dead 1/,
    );
    await shot('targets');

    await row.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('crm is paused').waitFor();
    await page
      .locator('#target-crm')
      .getByText(/^paused since/)
      .waitFor();
    await shot('targets-paused');
    const api = await (
      await fetch(`${relay.url}/api/targets`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json();
    expect(api.items[0]).toMatchObject({ name: 'crm', state: 'paused' });

    await page.locator('#target-crm').getByRole('button', { name: 'Resume' }).click();
    await page.getByText('crm is resumed').waitFor();
    await page.locator('#target-crm').getByText('closed').waitFor();

    await page.goto(`${relay.url}/`);
    expect(await page.locator('figure.chart figcaption').textContent()).toMatch(
      /Notifications received per minute.*received [1-9]/,
    );
    expect(await page.locator('figure.chart svg path.series').count()).toBe(1);
    await shot('events-chart');
  });
});

describe('the inspector with the media archive', () => {
  it('shows an archived image inline on its event page', async () => {
    // A 1×1 PNG, served by a file host on loopback (opted in with media.privateNetworks).
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const host = await startSink(() => ({ status: 200, headers: { 'content-type': 'image/png' }, body: png }));
    const media = await startRelay({
      admin: { token: ADMIN },
      instances: { '1234': { token: 'media-token' } },
      media: { archive: true, publicUrl: 'https://relay.example', privateNetworks: ['127.0.0.1/32'] },
    });
    try {
      const image = fixture('incomingMessageReceived.imageMessage.json').json as any;
      const body = {
        ...image,
        messageData: {
          ...image.messageData,
          fileMessageData: { ...image.messageData.fileMessageData, downloadUrl: `${host.url}/photo.png` },
        },
      };
      const answer = await media.post(body, { token: 'media-token' });
      const { id } = (await answer.json()) as { id: string };
      await expect
        .poll(() => media.query<{ status: string }>('SELECT status FROM media').map((r) => r.status))
        .toEqual(['archived']);
      // The page's links name the configured publicUrl: this test reaches the relay at its own address.
      await page.route('https://relay.example/**', async (route) => {
        const response = await fetch(route.request().url().replace('https://relay.example', media.url));
        await route.fulfill({
          status: response.status,
          headers: Object.fromEntries(response.headers),
          body: Buffer.from(await response.arrayBuffer()),
        });
      });
      await page.goto(`${media.url}/login`);
      await page.fill('input[name=token]', ADMIN);
      await page.click('button[type=submit]');
      await page.goto(`${media.url}/events/${id}`);
      await page.getByText('Files in the archive').waitFor();
      await expect
        .poll(() => page.locator('figure.file img').evaluate((img: HTMLImageElement) => img.naturalWidth))
        .toBe(1);
      await shot('event-archived-image');
    } finally {
      await page.unroute('https://relay.example/**');
      await media.close();
      await host.close();
    }
  });
});
