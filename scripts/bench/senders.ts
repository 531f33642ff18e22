// Bench helper: 20 senders, each one notification at a time (Green API's way, for 20 instances),
// as fast as the relay answers or, with `rate`, at that many notifications per second in all.
import type { Pool } from 'undici';

export async function sendNotifications(
  pool: Pool,
  options: { count: number; token: string; body: () => string; rate?: number; onAnswer?: (text: string) => void },
): Promise<void> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < options.count) {
        const due = options.rate ? started + (next * 1000) / options.rate : 0;
        next++;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const response = await pool.request({
          path: '/webhook',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
          body: options.body(),
        });
        const text = await response.body.text();
        options.onAnswer?.(text);
      }
    }),
  );
}
