// The targets' control (src/delivery/control.ts) over a real SQL store: a probe taken while the
// store cannot write is given back, so an open circuit keeps probing once the store recovers.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAlerter } from '../../src/alerts.ts';
import { validateConfig } from '../../src/config.ts';
import { createTargetControl } from '../../src/delivery/control.ts';
import { webCryptoSha256 } from '../../src/hash.ts';
import { createJsonLogger } from '../../src/log.ts';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('target control', () => {
  it('gives a probe back when the store cannot write it, and probes once it can', async () => {
    const config = validateConfig(
      {
        instances: { '*': { token: 't' } },
        targets: [
          { name: 'crm', url: 'http://127.0.0.1:9/', circuit: { afterFailures: 1, probeEvery: '1s', holdFor: '1h' } },
        ],
      },
      {},
    );
    const store = createSqlStore(openBetterSqlite(join(tempDir(), 'relay.db')), {
      dedupWindowMs: 60_000,
      retentionMs: 60_000,
    });
    let full = false;
    const saveTargetState: typeof store.saveTargetState = (state) =>
      full ? Promise.reject(new Error('SQLITE_FULL: database or disk is full')) : store.saveTargetState(state);
    const lines: string[] = [];
    const logger = createJsonLogger((line) => lines.push(line));
    let clock = 1_000_000;
    const now = () => clock;
    const alerter = createAlerter({
      store,
      targets: config.targets,
      sha256: webCryptoSha256,
      now,
      logger,
      groupEveryMs: 60_000,
    });
    const control = createTargetControl({
      store: { ...store, saveTargetState },
      targets: config.targets,
      alerter,
      logger,
      now,
    });
    await control.load();
    await store.saveTargetState({
      target: 'crm',
      version: 0,
      paused: false,
      pausedAt: null,
      openedAt: clock - 5_000,
      failures: 3,
      probeAt: clock,
      probes: 0,
      lastError: 'HTTP 503',
      updatedAt: clock,
    });
    await control.load();
    expect(control.mode('crm', clock)).toBe('probe');

    full = true;
    expect(await control.takeProbe('crm', clock)).toBe(false);
    expect(lines.some((line) => line.includes('"target.control_failed"'))).toBe(true);
    full = false;
    clock += 1_000;
    expect(control.mode('crm', clock)).toBe('probe');
    expect(await control.takeProbe('crm', clock)).toBe(true);
    expect(control.mode('crm', clock)).toBe('hold'); // one probe at a time
  });
});
