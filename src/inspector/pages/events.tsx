// The events page: the latest events with their delivery state per target and a preview, filters,
// and new ones arriving live at the top (GET /api/stream). The table is shared with the dead letters.
import type { RelayConfig } from '../../config.ts';
import type { DeliveryStatus, EventSummary } from '../../store/store.ts';
import { ColumnChart, countsOf } from '../chart.tsx';
import { Layout, RecoveredBadge, StatusBadge, time } from '../layout.tsx';

/** Appends each event of the live stream to the top of the list; text only, never HTML. */
const LIVE_SCRIPT = `
const rows = document.getElementById('rows');
const source = new EventSource('/api/stream');
source.addEventListener('ready', () => { document.body.dataset.live = 'on'; });
source.addEventListener('error', () => { document.body.dataset.live = 'off'; });
source.addEventListener('event', (message) => {
  const e = JSON.parse(message.data);
  const row = document.createElement('tr');
  row.className = 'live';
  const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; row.append(td); return td; };
  cell(e.receivedAt.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z'), 'nowrap');
  const link = document.createElement('a'); link.href = '/events/' + e.id; link.textContent = e.type;
  const what = cell(''); what.append(link);
  if (e.recovered) { const b = document.createElement('span'); b.className = 'badge recovered'; b.textContent = 'recovered'; b.title = "its webhook never came: rebuilt from Green API's journal"; what.append(' ', b); }
  if (e.preview) { const p = document.createElement('div'); p.className = 'muted'; p.textContent = e.preview; what.append(p); }
  cell(e.subject || '', 'mono');
  cell(e.instance, 'mono wide');
  const deliveries = cell('');
  for (const d of e.deliveries) { const b = document.createElement('span'); b.className = 'badge ' + d.status; b.textContent = d.target + ' ' + d.status; deliveries.append(b); }
  rows.prepend(row);
  document.getElementById('empty')?.remove();
});
`;

function EventRows(props: { events: EventSummary[] }) {
  return (
    <>
      {props.events.map((e) => (
        <tr>
          <td class="nowrap">{time(e.receivedAt)}</td>
          <td>
            <a href={`/events/${e.id}`}>{e.type}</a>
            {e.recovered ? (
              <>
                {' '}
                <RecoveredBadge />
              </>
            ) : (
              ''
            )}
            {e.duplicates > 0 ? (
              <span class="muted">
                {' '}
                ({e.duplicates} duplicate{e.duplicates > 1 ? 's' : ''})
              </span>
            ) : (
              ''
            )}
            {e.preview ? <div class="muted">{e.preview}</div> : ''}
          </td>
          <td class="mono">{e.subject ?? ''}</td>
          <td class="mono wide">{e.instance}</td>
          <td>
            {e.deliveries.length === 0 ? (
              <span class="muted">no target</span>
            ) : (
              e.deliveries.map((d) => <StatusBadge target={d.target} status={d.status} attempts={d.attempts} />)
            )}
          </td>
        </tr>
      ))}
    </>
  );
}

export function EventTable(props: {
  events: EventSummary[];
  next: string | null;
  nextHref: (cursor: string) => string;
  live?: boolean;
}) {
  return (
    <>
      <table>
        <thead>
          <tr>
            <th>received</th>
            <th>type</th>
            <th>chat</th>
            <th class="wide">instance</th>
            <th>deliveries</th>
          </tr>
        </thead>
        <tbody id="rows">
          <EventRows events={props.events} />
        </tbody>
      </table>
      {props.events.length === 0 ? (
        <p id="empty" class="muted">
          No events yet{props.live ? ': new ones appear here as they arrive.' : '.'}
        </p>
      ) : (
        ''
      )}
      {props.next ? (
        <p>
          <a href={props.nextHref(props.next)}>Older events →</a>
        </p>
      ) : (
        ''
      )}
      {props.live ? <script dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT }} /> : ''}
    </>
  );
}

export interface EventFilters {
  status?: DeliveryStatus;
  type?: string;
  instance?: string;
  chat?: string;
  target?: string;
}

export function EventsPage(props: {
  chart?: { since: number; bucketMs: number; buckets: number; received: { at: number; count: number }[] };
  config: RelayConfig;
  filters: EventFilters;
  events: EventSummary[];
  next: string | null;
  live: boolean;
  invalid?: string;
}) {
  const { filters } = props;
  const filtered = Object.values(filters).some((v) => v !== undefined);
  const href = (cursor: string) =>
    `/?${new URLSearchParams({ ...(Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) as Record<string, string>), cursor })}`;
  return (
    <Layout title="Events">
      {props.invalid ? <p class="notice dead">{props.invalid}</p> : ''}
      <form class="filters" method="get" action="/">
        <select name="status">
          <option value="">any status</option>
          {['pending', 'delivered', 'dead'].map((s) => (
            <option value={s} selected={filters.status === s}>
              {s}
            </option>
          ))}
        </select>
        <input name="type" placeholder="type, e.g. com.green-api.message.*" value={filters.type ?? ''} />
        <input name="chat" placeholder="chat id" value={filters.chat ?? ''} />
        <input name="instance" placeholder="instance" value={filters.instance ?? ''} />
        <select name="target">
          <option value="">any target</option>
          {props.config.targets.map((t) => (
            <option value={t.name} selected={filters.target === t.name}>
              {t.name}
            </option>
          ))}
        </select>
        <button type="submit">Filter</button>
        {filtered ? <a href="/">clear</a> : ''}
      </form>
      {props.config.targets.length === 0 ? (
        <p class="notice">
          No targets are configured: the relay keeps and shows what Green API sends to{' '}
          <span class="mono">POST /webhook</span>, and delivers it nowhere.
        </p>
      ) : (
        ''
      )}
      {props.chart ? (
        <ColumnChart
          title="Notifications received per minute"
          since={props.chart.since}
          bucketMs={props.chart.bucketMs}
          buckets={props.chart.buckets}
          series={[{ name: 'received', class: 'received', counts: countsOf(props.chart.received) }]}
        />
      ) : (
        ''
      )}
      <EventTable events={props.events} next={props.next} nextHref={href} live={props.live && !filtered} />
    </Layout>
  );
}
