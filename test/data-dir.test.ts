// One relay per data folder: a second process on the same RELAY_DATA_DIR refuses to start and
// names the folder; the first keeps working; a killed relay leaves no stale lock behind.
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { spawnRelay } from './helpers/process.ts';
import { tempDir } from './helpers/tmp.ts';
import { TOKEN } from './helpers/webhook.ts';

const config = { instances: { '*': { token: TOKEN } } };
const post = (url: string) =>
  fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: new Uint8Array(fixture('incomingMessageReceived.textMessage.json').bytes),
  });

describe('the data folder', () => {
  it('is held by one relay: a second one on it refuses to start, naming the folder, and the first keeps working', async () => {
    const dir = tempDir();
    const first = await spawnRelay(config, dir);
    onTestFinished(() => void first.child.kill('SIGKILL'));
    const refused = await spawnRelay(config, dir).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(refused).toContain(`green-relay did not start: another relay is running on the data folder ${dir}`);
    expect((await post(first.url)).status).toBe(200);

    first.child.kill('SIGKILL');
    await first.exited;
    const after = await spawnRelay(config, dir);
    onTestFinished(() => void after.child.kill('SIGKILL'));
    expect((await post(after.url)).status).toBe(200);
  });
});
