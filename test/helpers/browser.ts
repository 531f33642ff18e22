// A headless Chromium for the browser tests: the system's when there is one (CHROMIUM_PATH, or
// chromium on the PATH), otherwise the one @sparticuz/chromium brings through the npm registry, so
// that `npm install && npm test` needs nothing installed by hand.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** What the browser must not do on this closed network (each is a connection refused at start). */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function systemChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CHROMIUM_PATH && existsSync(env.CHROMIUM_PATH)) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome'])
      if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Launches Chromium; `system: false` skips the system one (to test the npm one on any machine). */
export async function launchBrowser(
  options: { system?: boolean } = {},
): Promise<{ browser: Browser; source: 'system' | 'npm' }> {
  const system = options.system === false ? null : systemChromium();
  if (system)
    return { browser: await chromium.launch({ executablePath: system, args: ARGS, headless: true }), source: 'system' };
  const { default: npmChromium } = await import('@sparticuz/chromium');
  const executablePath = await npmChromium.executablePath();
  return {
    browser: await chromium.launch({
      executablePath,
      args: [...ARGS, '--no-zygote', '--single-process'],
      headless: true,
    }),
    source: 'npm',
  };
}
