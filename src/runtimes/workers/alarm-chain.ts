// A Durable Object's one alarm, shared by everything that wants the object to wake: each request
// asks for a time and the earliest wins; the handler, when it ends, arms for its own next time and
// for whatever was asked for while it ran.
//
// Two behaviours of workerd are guarded here, both seen on `wrangler dev` 4.86 (the second is
// also reported on the edge):
// - An alarm set while the handler runs, for a time not after now, may be dropped when the handler
//   ends, while getAlarm() goes on showing it (workerd issue 6866). No alarm is set here for a time
//   earlier than 1 ms from now.
// - An alarm shown by getAlarm() but overdue never fires, and since it looks earlier than any time
//   asked for, nothing would set another: the object would sleep for good. A due alarm fires
//   within milliseconds, so one overdue by more than STALE_MS is taken as lost and set again.

/** How overdue a shown alarm must be to count as lost. */
const STALE_MS = 5_000;

/** The two calls of a Durable Object's storage (ctx.storage) the chain makes. */
export interface AlarmStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}

export interface AlarmChain {
  /** Wakes the object at `at` (or at once, for a time past), unless it wakes earlier already. */
  arm(at: number): Promise<void>;
  /** Runs `pass` as the alarm handler; then arms for the time it returns and for what was asked meanwhile. */
  run(pass: () => Promise<number | null>): Promise<void>;
}

export function createAlarmChain(storage: AlarmStorage, now: () => number = Date.now): AlarmChain {
  let running = false;
  /** The earliest time asked for while the handler runs. */
  let wanted: number | null = null;
  const set = (at: number) => storage.setAlarm(Math.max(at, now() + 1));
  return {
    async arm(at) {
      // While the handler runs, getAlarm() does not show what follows it: what is asked for is set when it ends.
      if (running) {
        wanted = wanted === null ? at : Math.min(wanted, at);
        return;
      }
      const current = await storage.getAlarm();
      // A lost alarm is replaced by one now, not at `at`: what it was set for may be due already.
      if (current !== null && current < now() - STALE_MS) await set(now());
      else if (current === null || current > at) await set(at);
    },
    async run(pass) {
      running = true;
      wanted = null;
      let next: number | null = null;
      try {
        next = await pass();
      } finally {
        running = false;
        const at = next === null ? wanted : wanted === null ? next : Math.min(next, wanted);
        if (at !== null) await set(at);
      }
    },
  };
}
