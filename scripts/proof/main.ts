// `npm run proof`: every scenario at full size; prints the table and exits non-zero on any loss.
// `npm run proof -- --short` is the form `npm test` runs.
import { cpus } from 'node:os';
import { proofTable, runProof } from './harness.ts';

const short = process.argv.includes('--short');
const results = await runProof(
  short
    ? { instances: 4, perInstance: 50, kills: 2, load: null }
    : { instances: 10, perInstance: 100, kills: 6, load: { instances: 20, perSecond: 50, seconds: 60 } },
  (result) => console.error(`${result.scenario}: ${result.lost} lost, ${result.seconds.toFixed(1)} s`),
);
console.log(`green-relay proof${short ? ' (short)' : ''}: ${cpus().length} cores, Node ${process.version}\n`);
console.log(proofTable(results));
const lost = results.reduce((sum, r) => sum + r.lost, 0);
const outOfOrder = results.reduce((sum, r) => sum + r.outOfOrder, 0);
console.log(lost === 0 ? '\nNothing lost.' : `\n${lost} deliveries LOST.`);
if (outOfOrder > 0) console.log(`${outOfOrder} events delivered out of their chat's order.`);
process.exit(lost === 0 && outOfOrder === 0 ? 0 : 1);
