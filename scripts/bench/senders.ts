// Bench helper: 20 senders, each one notification at a time (Green API's way, for 20 instances),
// as fast as the relay answers or, with `rate`, at that many notifications per second in all,
// evenly spaced. (autocannon's rate is not: each connection sends its second's share at once at
// the start of the second, a burst at full speed, then waits, so its latencies and its CPU per
// notification are those of saturation.)
import type { Pool } from 'undici';

/** One answer: its text, its status, and the time from when it was due (paced) or sent, in ms. */
export type Answer = (text: string, status: number, ms: number) => void;

/** The value at `p` (0 to 1) of an ascending list of latencies. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export async function sendNotifications(
  pool: Pool,
  options: { count: number; token: string; body: () => string; rate?: number; onAnswer?: Answer },
): Promise<void> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < options.count) {
        const due = options.rate ? started + (next * 1000) / options.rate : performance.now();
        next++;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const sent = performance.now();
        const response = await pool.request({
          path: '/webhook',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
          body: options.body(),
        });
        const text = await response.body.text();
        // From when it was due if it went late: a sender held up by a slow answer sends late, and
        // that wait is the relay's too (coordinated omission). A timer may fire a little early.
        options.onAnswer?.(text, response.statusCode, performance.now() - Math.min(due, sent));
      }
    }),
  );
}
