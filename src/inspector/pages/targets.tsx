// Target health (contract §7): each target's state (closed, open since, paused, probing), what it
// holds, its rate limit, success rate, dead count and last error, with pause and resume buttons;
// and its attempts per minute by outcome over the last 24 hours.
import type { TargetView } from '../../admin/targets.ts';
import type { Activity } from '../../store/store.ts';
import { ColumnChart, countsOf } from '../chart.tsx';
import { Layout, Outcome, time } from '../layout.tsx';

const OUTCOMES = [
  { outcome: 'delivered', name: 'delivered', class: 'delivered' },
  { outcome: 'retry', name: 'failed, retried', class: 'pending' },
  { outcome: 'held', name: 'held', class: 'held' },
  { outcome: 'dead', name: 'dead', class: 'dead' },
] as const;

function State(props: { t: TargetView }) {
  const { t } = props;
  if (t.state === 'paused')
    return <span class="badge held">paused{t.pausedAt ? ` since ${time(Date.parse(t.pausedAt))}` : ''}</span>;
  if (t.state === 'open')
    return (
      <>
        <span class="badge dead">open since {time(Date.parse(t.openedAt!))}</span>
        <div class="muted">
          {t.probing ? 'probing now' : t.nextProbeAt ? `next probe ${time(Date.parse(t.nextProbeAt))}` : ''}
        </div>
      </>
    );
  return <span class="badge delivered">closed</span>;
}

export function TargetsPage(props: {
  targets: TargetView[];
  activity: Activity;
  since: number;
  bucketMs: number;
  buckets: number;
  done?: string;
  failed?: string;
}) {
  return (
    <Layout title="Targets">
      <Outcome done={props.done} failed={props.failed} />
      <h1>Targets</h1>
      {props.targets.length === 0 ? <p class="muted">No targets are configured.</p> : ''}
      <table>
        <thead>
          <tr>
            <th>target</th>
            <th>state</th>
            <th>success (24 h)</th>
            <th>backlog</th>
            <th>dead</th>
            <th class="wide">limit</th>
            <th>last error</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {props.targets.map((t) => (
            <tr id={`target-${t.name}`}>
              <td>
                {t.name} <span class="muted">{t.format}</span>
                <div class="mono muted wide">{t.url}</div>
              </td>
              <td>
                <State t={t} />
              </td>
              <td>{t.attempts > 0 ? `${((100 * t.succeeded) / t.attempts).toFixed(1)}% of ${t.attempts}` : '–'}</td>
              <td class={t.held ? 'held' : t.pending ? 'pending' : ''}>{t.held ? `${t.held} held` : t.pending}</td>
              <td class={t.dead ? 'dead' : ''}>{t.dead}</td>
              <td class="wide">
                {t.rateLimit ?? '–'}
                {t.circuit ? (
                  <div class="muted">opens after {t.circuit.afterFailures} failures</div>
                ) : (
                  <div class="muted">never held</div>
                )}
              </td>
              <td class="muted">{t.lastError ?? '–'}</td>
              <td>
                <form
                  class="inline"
                  method="post"
                  action={`/targets/${encodeURIComponent(t.name)}/${t.state === 'paused' ? 'resume' : 'pause'}`}
                >
                  <button type="submit">{t.state === 'paused' ? 'Resume' : 'Pause'}</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.targets.map((t) => (
        <ColumnChart
          title={`${t.name}: attempts per minute`}
          since={props.since}
          bucketMs={props.bucketMs}
          buckets={props.buckets}
          series={OUTCOMES.map((o) => ({
            name: o.name,
            class: o.class,
            counts: countsOf(props.activity.attempts.filter((a) => a.target === t.name && a.outcome === o.outcome)),
          }))}
        />
      ))}
    </Layout>
  );
}
