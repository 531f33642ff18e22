// The inspector's live list across relays that share a Postgres (admin/live.ts SharedFeed):
// messages go by NOTIFY on one channel and arrive by LISTEN, which the `postgres` client keeps on
// a connection of its own and re-establishes after a break. A relay with a subscriber holds a
// `live:<relay>` lease; the others look every few seconds whether any such lease is held, and
// send nothing while none is, so a relay nobody watches pays nothing per notification.
import type { Sql } from 'postgres';
import type { SharedFeed } from '../../admin/live.ts';

const CHANNEL = 'green_relay_live';
/** How often a relay renews its watching lease, and looks at the others'. */
const LOOK_MS = 2_000;
const LEASE_MS = 3 * LOOK_MS;
/** NOTIFY payloads are limited to 8000 bytes; a larger summary is left out of other relays' lists. */
const MAX_PAYLOAD = 7_900;

export interface PostgresFeed extends SharedFeed {
  close(): void;
}

export function createPostgresFeed(client: Sql, holder: string): PostgresFeed {
  const lease = `live:${holder}`;
  let othersWatching = false;
  let watching = false;

  const look = async () => {
    const now = Date.now();
    if (watching)
      await client`INSERT INTO relay_leases (name, holder, until_at) VALUES (${lease}, ${holder}, ${now + LEASE_MS})
        ON CONFLICT (name) DO UPDATE SET until_at = excluded.until_at`;
    const [row] = await client<{ n: number }[]>`SELECT COUNT(*) AS n FROM relay_leases
      WHERE name LIKE 'live:%' AND holder <> ${holder} AND until_at > ${now}`;
    othersWatching = row!.n > 0;
  };
  const timer = setInterval(() => void look().catch(() => {}), LOOK_MS);
  (timer as { unref?: () => void }).unref?.();
  void look().catch(() => {});

  return {
    get othersWatching() {
      return othersWatching;
    },
    send(name, json) {
      const payload = JSON.stringify({ from: holder, name, json });
      if (payload.length <= MAX_PAYLOAD) void client.notify(CHANNEL, payload).catch(() => {});
    },
    listen(deliver) {
      client
        .listen(CHANNEL, (payload) => {
          const message = JSON.parse(payload) as { from: string; name: string; json: string };
          if (message.from !== holder) deliver(message.name, message.json);
        })
        .catch(() => {});
    },
    watching(on) {
      watching = on;
      if (on) void look().catch(() => {});
      else void client`DELETE FROM relay_leases WHERE name = ${lease}`.catch(() => {});
    },
    close: () => clearInterval(timer),
  };
}
