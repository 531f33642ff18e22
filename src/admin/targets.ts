// What operators see of each target (the API's /api/targets and the inspector's targets page):
// its configuration, its state (closed, open since, paused, probing), its counts and last error.
import type * as z from 'zod';
import type { RelayConfig, TargetConfig } from '../config.ts';
import { formatDuration } from '../duration.ts';
import type { TargetState, TargetStats } from '../store/store.ts';
import type { TargetSummary } from './schemas.ts';

export type TargetView = z.infer<typeof TargetSummary>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function rateLimitText(t: TargetConfig): string | null {
  if (!t.rateLimit) return null;
  return `${t.rateLimit.starts}/${t.rateLimit.perMs === 1_000 ? 's' : 'm'}`;
}

/**
 * A target's URL as operators see it, with what may be a credential masked: a user and password, the
 * query, and a path segment that looks like a token. The URL is the only secret of a Slack,
 * Mattermost or Discord incoming webhook (…/services/T…/B…/<token>), and these pages are read
 * over shoulders and pasted into tickets.
 */
export function shownUrl(url: string): string {
  const u = new URL(url);
  const tokenLike = (segment: string) => segment.length >= 16 && /\d/.test(segment) && /[A-Za-z]/.test(segment);
  const path = u.pathname
    .split('/')
    .map((segment) => (tokenLike(segment) ? '…' : segment))
    .join('/');
  return `${u.protocol}//${u.username || u.password ? '…@' : ''}${u.host}${path}${u.search ? '?…' : ''}`;
}

export function describeTargets(
  config: RelayConfig,
  stats: TargetStats[],
  states: TargetState[],
  now: number,
): TargetView[] {
  const statsOf = new Map(stats.map((s) => [s.target, s]));
  const stateOf = new Map(states.map((s) => [s.target, s]));
  return config.targets.map((t) => {
    const s = statsOf.get(t.name);
    const st = stateOf.get(t.name);
    const state = st?.paused ? 'paused' : st?.openedAt != null ? 'open' : 'closed';
    const pending = s?.pending ?? 0;
    return {
      name: t.name,
      url: shownUrl(t.url),
      format: t.format,
      rateLimit: rateLimitText(t),
      circuit: t.circuit
        ? {
            afterFailures: t.circuit.afterFailures,
            probeEvery: formatDuration(t.circuit.probeEveryMs),
            holdFor: formatDuration(t.circuit.holdForMs),
          }
        : null,
      state,
      openedAt: iso(st?.openedAt ?? null),
      pausedAt: iso(st?.pausedAt ?? null),
      probing: state === 'open' && st?.probeAt != null && st.probeAt <= now,
      nextProbeAt: state === 'open' ? iso(st?.probeAt ?? null) : null,
      failures: st?.failures ?? 0,
      lastError: s?.lastError ?? st?.lastError ?? null,
      pending,
      held: state === 'closed' ? 0 : pending,
      dead: s?.dead ?? 0,
      delivered: s?.delivered ?? 0,
      attempts: s?.attempts ?? 0,
      succeeded: s?.succeeded ?? 0,
    };
  });
}
