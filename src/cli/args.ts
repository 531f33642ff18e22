// Small helpers every command shares: parsing flags with node:util, failing with the right exit
// code, and finding the relay and its admin token.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CONFIG_EXIT_CODE } from '../config.ts';

/** Exit codes: 0 done, 1 the other side refused or failed, 2 the command line is wrong, 78 the config is invalid. */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: CONFIG_EXIT_CODE } as const;

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function flags<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, help: string) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${help.trim()}\n`);
      process.exit(EXIT.ok);
    }
    return parsed;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${help.trim()}`);
  }
}

export function required(value: string | undefined, flag: string): string {
  if (!value) throw new CliError(`${flag} is required (see --help)`);
  return value;
}

/** The relay's base URL from --url or GREEN_RELAY_URL, without a trailing /webhook. */
export function relayBase(url: string | undefined): string {
  const base = url ?? process.env.GREEN_RELAY_URL;
  if (!base) throw new CliError('--url is required (or set GREEN_RELAY_URL)');
  try {
    const parsed = new URL(base);
    return parsed.href.replace(/\/(webhook)?\/?$/, '');
  } catch {
    throw new CliError(`--url: not a URL: ${base}`);
  }
}

/** fetch that turns "the relay is not there" into an error a person can act on. */
export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new CliError(`cannot reach ${new URL(url).origin}: ${cause}`, EXIT.failed);
  }
}

/** Reads an error answer of the relay ({"error":{"message"}}) or any other body. */
export async function failure(response: Response): Promise<CliError> {
  const text = await response.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON: keep the text
  }
  return new CliError(`HTTP ${response.status}: ${message}`, EXIT.failed);
}

/**
 * The admin token: --admin-token, GREEN_RELAY_ADMIN_TOKEN or RELAY_ADMIN_TOKEN, or on the relay's
 * own machine the one it generated into its data folder (RELAY_DATA_DIR, default ./data).
 */
export function adminHeaders(token: string | undefined): Record<string, string> {
  const admin = token ?? process.env.GREEN_RELAY_ADMIN_TOKEN ?? process.env.RELAY_ADMIN_TOKEN ?? generatedAdminToken();
  return admin ? { authorization: `Bearer ${admin}` } : {};
}

function generatedAdminToken(): string | undefined {
  const file = join(process.env.RELAY_DATA_DIR ?? './data', 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
