// `npm run profile -- --gc`: how much each V8 heap of the relay collects, from `node --trace-gc`,
// which prints one line per collection on stdout. Node's lines do not say which thread a heap
// belongs to, only its address: on the relay, the heap that collects most often is the store
// thread's (its young generation is capped at 6 MB, store-thread/client.ts).

const LINE =
  /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: ([A-Za-z -]+?)(?: \([a-z ]+\))? ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, ([\d.]+) \//;

interface Heap {
  collections: number;
  pauseMs: number;
  freedMb: number;
  kinds: Map<string, number>;
}

export function createGcTally() {
  let heaps = new Map<string, Heap>();
  let partial = '';
  let counting = true;
  return {
    /** A chunk of the relay's stdout; the JSON log lines in it are skipped. */
    take(chunk: string) {
      if (!counting) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const found = LINE.exec(line);
        if (!found) continue;
        const [heapId, kind, before, after, pause] = found.slice(1) as [string, string, string, string, string];
        let heap = heaps.get(heapId);
        if (!heap) heaps.set(heapId, (heap = { collections: 0, pauseMs: 0, freedMb: 0, kinds: new Map() }));
        heap.collections++;
        heap.pauseMs += Number(pause);
        heap.freedMb += Math.max(0, Number(before) - Number(after));
        heap.kinds.set(kind, (heap.kinds.get(kind) ?? 0) + 1);
      }
    },
    /** Forgets what was counted so far (the warm-up). */
    reset: () => void (heaps = new Map()),
    /** Counts nothing more (the relay's shutdown). */
    stop: () => void (counting = false),
    print(notifications: number) {
      console.log('\nGC (node --trace-gc), per heap, by collections:');
      for (const [id, heap] of [...heaps].sort((a, b) => b[1].collections - a[1].collections)) {
        const kinds = [...heap.kinds].map(([kind, n]) => `${n} ${kind}`).join(', ');
        console.log(
          `  ${id}: ${kinds}; paused ${heap.pauseMs.toFixed(0)} ms (${((heap.pauseMs * 1000) / notifications).toFixed(1)} µs per notification), freed ${((heap.freedMb * 1024) / notifications).toFixed(1)} KB per notification`,
        );
      }
    },
  };
}
