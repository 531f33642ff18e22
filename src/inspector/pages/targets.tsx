// Target health: success rate over the stats window, backlog, dead count and the last error.
import type { RelayConfig } from '../../config.ts';
import type { TargetStats } from '../../store/store.ts';
import { Layout, time } from '../layout.tsx';

export function TargetsPage(props: { config: RelayConfig; stats: TargetStats[] }) {
  const stats = new Map(props.stats.map((t) => [t.target, t]));
  return (
    <Layout title="Targets">
      <h1>Targets</h1>
      {props.config.targets.length === 0 ? <p class="muted">No targets are configured.</p> : ''}
      <table>
        <thead>
          <tr>
            <th>target</th>
            <th class="wide">url</th>
            <th>success (24 h)</th>
            <th>backlog</th>
            <th>dead</th>
            <th>last error</th>
          </tr>
        </thead>
        <tbody>
          {props.config.targets.map((target) => {
            const t = stats.get(target.name);
            const rate =
              t && t.attempts > 0 ? `${((100 * t.succeeded) / t.attempts).toFixed(1)}% of ${t.attempts}` : '–';
            return (
              <tr>
                <td>
                  {target.name} <span class="muted">{target.format}</span>
                </td>
                <td class="mono wide">{target.url}</td>
                <td>{rate}</td>
                <td class={t?.pending ? 'pending' : ''}>{t?.pending ?? 0}</td>
                <td class={t?.dead ? 'dead' : ''}>{t?.dead ?? 0}</td>
                <td class="muted">{t?.lastError ? `${time(t.lastErrorAt!)}: ${t.lastError}` : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Layout>
  );
}
