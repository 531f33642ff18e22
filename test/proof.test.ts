// The short form of `npm run proof`: a few hundred notifications, two SIGKILLs, faulty targets and
// a store that fills up for a while. Every accepted event must reach every target, and the
// per-chat ordered target must take each chat's events in order.
import { expect, it } from 'vitest';
import { proofTable, runProof } from '../scripts/proof/harness.ts';

it('loses no accepted notification through kills, faulty targets and a full disk', async () => {
  // Each scenario as it ends, so that a run that hits the timeout shows where it was.
  const results = await runProof({ instances: 4, perInstance: 50, kills: 2, load: null }, (result) =>
    console.error(`${result.scenario}: ${result.lost} lost, ${result.seconds.toFixed(1)} s`),
  );
  console.log(proofTable(results));
  for (const result of results) {
    expect(result.accepted, result.scenario).toBe(result.sent);
    expect(result.lost, result.scenario).toBe(0);
    expect(result.outOfOrder, `${result.scenario}: per-chat order`).toBe(0);
  }
  expect(results[1]!.resent, 'the full store refused notifications with 503').toBeGreaterThan(0);
  expect(results[3]!.resent, 'the relays answered 503 while Postgres was away').toBeGreaterThan(0);
}, 360_000);
