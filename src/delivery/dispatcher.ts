// The dispatcher port: what a runtime runs to deliver (contract §4). Two schedulers implement it
// over one lane model (lanes.ts): the long-lived loop of a process (dispatch-loop.ts: Node, Deno
// self-hosted), and one pass per wake-up where nothing runs between requests (dispatch-pass.ts:
// a Durable Object's alarm, a Deno KV queue message). Node's store thread proxies the loop.
import type { TargetConfig } from '../config.ts';
import type { Sha256 } from '../hash.ts';
import type { Logger } from '../log.ts';
import type { MediaLinkOptions } from '../media/links.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/store.ts';

export interface Dispatcher {
  /** Releases leases left by a previous run, then starts delivering. */
  start(): Promise<void>;
  /** Looks for due deliveries soon (after an event is accepted, replayed or released). */
  wake(): void;
  /** An operator paused or resumed a target: read the targets' states again now, and look. */
  targetsChanged(): void;
  /**
   * Stops claiming and gives the attempts in flight `graceMs` to finish; those still running then
   * are cancelled unrecorded, so they stay leased and are sent again on the next start.
   */
  stop(graceMs?: number): Promise<void>;
}

/** What every dispatcher needs; how it sends (the HttpPost) is its own. */
export interface DispatcherOptions {
  store: Store;
  targets: readonly TargetConfig[];
  logger: Logger;
  metrics?: Pick<Metrics, 'attempted' | 'alerted' | 'probed' | 'rateLimited'>;
  now: () => number;
  userAgent: string;
  /** How long dead deliveries are counted before one alert tells them (alerts.groupEvery). */
  alertGroupEveryMs: number;
  /** For the ids of the relay's own events; WebCrypto when absent. */
  sha256?: Sha256;
  /** How archived files' links are signed (media archive on). */
  media?: MediaLinkOptions;
}

export type DispatcherFactory = (options: DispatcherOptions) => Dispatcher;
