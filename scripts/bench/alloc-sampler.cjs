// Preloaded by `npm run profile -- --alloc` into every thread of the relay (`node --require`, which
// Node 20 also runs in worker threads; `--import` it does not, hence CommonJS): V8's sampling heap
// profiler, counting every allocation, the garbage included. profile.ts writes `start` into
// ALLOC_DIR after the warm-up and `stop` after the measured run; each thread then writes
// `alloc-<threadId>.json`, the bytes it allocated by function, sampled about every 4 KB.
const { existsSync, writeFileSync } = require('node:fs');
const { Session } = require('node:inspector');
const { join } = require('node:path');
const { threadId } = require('node:worker_threads');

const dir = process.env.ALLOC_DIR;
const session = new Session();
session.connect();

let sampling = false;
const look = setInterval(() => {
  if (!sampling && existsSync(join(dir, 'start'))) {
    sampling = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  } else if (sampling && existsSync(join(dir, 'stop'))) {
    clearInterval(look);
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(join(dir, `alloc-${threadId}.json`), JSON.stringify(bySite(result.profile.head)));
    });
  }
}, 100);
look.unref();

/** Self bytes per function (name and place), summed over every stack it allocated in. */
function bySite(head) {
  const sites = {};
  const walk = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    if (node.selfSize > 0) sites[key] = (sites[key] ?? 0) + node.selfSize;
    node.children.forEach(walk);
  };
  walk(head);
  return sites;
}
