// The relay's own state on Deno KV, beside kv-store.ts: each target's circuit and pause, the
// counts of grouped alerts, and a few values kept between starts. Keys:
//   ['target', name]   TargetState        ['alert', key]   AlertCount        ['state', key]   { value }
// Several isolates of one Deploy project share the KV: writes compare versionstamps and retry.
import type { Kv } from './kv-store.ts';
import type { AlertCount, ControlStore, TargetState } from './store.ts';

const RETRIES = 20;

export function createKvControlStore(kv: Kv): ControlStore {
  /** Reads, changes and writes back one value until no one else changed it in between. */
  async function update<T>(key: readonly [string, string], change: (current: T | null) => T | null): Promise<T | null> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const current = await kv.get<T>(key);
      const next = change(current.value);
      if (next === null) return null;
      if ((await kv.atomic().check({ key, versionstamp: current.versionstamp }).set(key, next).commit()).ok)
        return next;
    }
    throw new Error(`KV: ${key.join(' ')} kept changing`);
  }

  return {
    async targetStates() {
      const states: TargetState[] = [];
      for await (const { value } of kv.list<TargetState>({ prefix: ['target'] })) states.push(value);
      return states;
    },

    async setTargetPaused(target, paused, now) {
      return (await update<TargetState>(['target', target], (s) => ({
        ...(s ?? { target, version: 0, openedAt: null, failures: 0, probeAt: null, probes: 0, lastError: null }),
        version: (s?.version ?? 0) + 1,
        paused,
        // Pausing a paused target keeps the time it was first paused.
        pausedAt: paused ? (s?.paused ? s.pausedAt : now) : null,
        updatedAt: now,
      })))!;
    },

    async saveTargetState(state) {
      // The pause is an operator's: a dispatcher's write keeps whatever is stored.
      const saved = await update<TargetState>(['target', state.target], (s) =>
        (s?.version ?? 0) !== state.version
          ? null
          : { ...state, paused: s?.paused ?? false, pausedAt: s?.pausedAt ?? null, version: state.version + 1 },
      );
      return saved !== null;
    },

    async countAlert(key, at, sample, by = 1) {
      await update<AlertCount>(['alert', key], (c) => ({
        key,
        count: (c?.count ?? 0) + by,
        firstAt: c?.firstAt ?? at,
        lastAt: at,
        sample,
      }));
    },

    async takeAlertCounts(before) {
      const taken: AlertCount[] = [];
      let next: number | null = null;
      for await (const { key, value, versionstamp } of kv.list<AlertCount>({ prefix: ['alert'] })) {
        if (value.firstAt >= before) next = next === null ? value.firstAt : Math.min(next, value.firstAt);
        else if ((await kv.atomic().check({ key, versionstamp }).delete(key).commit()).ok) taken.push(value);
      }
      return { taken, next };
    },

    async readState(key) {
      return (await kv.get<{ value: string }>(['state', key])).value?.value ?? null;
    },

    async writeState(key, value, now) {
      await kv.set(['state', key], { value, updatedAt: now });
    },

    // What leases guard (pullers, passes, pruning) runs on Deploy from the KV queue, which hands
    // each message to one isolate: nothing here to share.
    takeLease: async () => true,
    dropLease: async () => {},
    reserveStart: async () => null,
  };
}
