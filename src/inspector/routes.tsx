// The web inspector at / (contract §6): a live list of events, an event's envelope, raw body and
// attempt timeline, dead letters and the quarantine with their buttons, and target health. With no
// targets it is a Green-API-aware webhook.site: point an instance at the relay and watch.
import { Hono, type Context } from 'hono';
import { setCookie } from 'hono/cookie';
import { ADMIN_COOKIE, type AdminAuth } from '../admin/auth.ts';
import { OperationError, type Operations } from '../admin/operations.ts';
import type { RelayConfig } from '../config.ts';
import { structuredEvent } from '../event.ts';
import type { DeliveryStatus, EventSummary, AppStore, TargetStats } from '../store/store.ts';
import { Layout, StatusBadge, time } from './layout.tsx';

export interface InspectorDeps {
  config: RelayConfig;
  store: AppStore;
  admin: AdminAuth;
  operations: Operations;
  targetStats: () => Promise<TargetStats[]>;
}

const PAGE = 50;
const text = new TextDecoder();
const pretty = (json: string) => JSON.stringify(JSON.parse(json), null, 2);

/** Posts the token of a `/login#token=…` link, after taking it out of the address bar and history. */
const SIGN_IN_SCRIPT = `
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) {
  history.replaceState(null, '', location.pathname + location.search);
  const form = document.getElementById('signin');
  form.token.value = token;
  form.submit();
}
`;

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
            {e.duplicates > 0 ? <span class="muted"> ({e.duplicates} duplicate{e.duplicates > 1 ? 's' : ''})</span> : ''}
            {e.preview ? <div class="muted">{e.preview}</div> : ''}
          </td>
          <td class="mono">{e.subject ?? ''}</td>
          <td class="mono wide">{e.instance}</td>
          <td>
            {e.deliveries.length === 0 ? <span class="muted">no target</span> : e.deliveries.map((d) => <StatusBadge target={d.target} status={d.status} attempts={d.attempts} />)}
          </td>
        </tr>
      ))}
    </>
  );
}

function EventTable(props: { events: EventSummary[]; next: string | null; nextHref: (cursor: string) => string; live?: boolean }) {
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
      {props.events.length === 0 ? <p id="empty" class="muted">No events yet{props.live ? ': new ones appear here as they arrive.' : '.'}</p> : ''}
      {props.next ? <p><a href={props.nextHref(props.next)}>Older events →</a></p> : ''}
      {props.live ? <script dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT }} /> : ''}
    </>
  );
}

export function createInspector(deps: InspectorDeps): Hono {
  const { config, store, admin, operations } = deps;
  const ui = new Hono();

  // Sign-in: a form, or a link whose token sits in the URL fragment (`/login#token=…`, printed at
  // start). A fragment never reaches the server, its logs or a Referer; the page takes it out of
  // the address bar and history before posting it in a form body.
  ui.get('/login', (c) => {
    c.header('referrer-policy', 'no-referrer');
    c.header('cache-control', 'no-store');
    return c.html(
      <Layout title="Sign in">
        <h1>Sign in</h1>
        {admin.closed ? <p class="notice dead">The inspector is closed: {admin.closed}.</p> : ''}
        {c.req.query('failed') ? <p class="notice dead">That is not the admin token.</p> : ''}
        <form id="signin" method="post" action="/login">
          <input type="hidden" name="next" value={c.req.query('next') ?? '/'} />
          <label>
            Admin token <input type="password" name="token" autocomplete="current-password" autofocus />
          </label>{' '}
          <button type="submit">Sign in</button>
        </form>
        <p class="muted">The token is admin.token from the configuration, or the one the relay generated in its data folder (RELAY_DATA_DIR/admin-token).</p>
        <script dangerouslySetInnerHTML={{ __html: SIGN_IN_SCRIPT }} />
      </Layout>,
    );
  });

  ui.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = typeof form.next === 'string' && form.next.startsWith('/') && !form.next.startsWith('//') ? form.next : '/';
    const token = typeof form.token === 'string' ? form.token : '';
    const session = await admin.session(token);
    if (!session) return c.redirect(`/login?failed=1&next=${encodeURIComponent(next)}`, 303);
    // Secure behind a TLS-terminating proxy too; a forged header only keeps the cookie off plain HTTP.
    const https = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
    setCookie(c, ADMIN_COOKIE, session, { httpOnly: true, sameSite: 'Strict', path: '/', secure: https });
    return c.redirect(next, 303);
  });

  const denied = (c: Context) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
  const guard = admin.middleware(denied);
  for (const path of ['/', '/events/*', '/dead', '/dead/*', '/quarantine', '/quarantine/*', '/targets']) ui.use(path, guard);

  /** Runs a button's operation and goes back where the operator was, with its outcome in the URL. */
  const act = async (c: Context, run: () => Promise<string>) => {
    const back = c.req.header('referer') ? new URL(c.req.header('referer')!).pathname : '/';
    try {
      return c.redirect(`${back}?done=${encodeURIComponent(await run())}`, 303);
    } catch (err) {
      if (err instanceof OperationError) return c.redirect(`${back}?failed=${encodeURIComponent(err.message)}`, 303);
      throw err;
    }
  };
  const Outcome = (props: { c: Context }) => {
    const done = props.c.req.query('done');
    const failed = props.c.req.query('failed');
    return done ? <p class="notice delivered">{done}</p> : failed ? <p class="notice dead">{failed}</p> : <></>;
  };

  ui.get('/', async (c) => {
    const q = c.req.query();
    const status = ['dead', 'pending', 'delivered'].includes(q.status ?? '') ? (q.status as DeliveryStatus) : undefined;
    const filters = { status, type: q.type || undefined, instance: q.instance || undefined, chat: q.chat || undefined, target: q.target || undefined };
    const page = await store.listEvents({ ...filters, limit: PAGE, cursor: q.cursor });
    const filtered = Object.values(filters).some((v) => v !== undefined);
    const params = (cursor: string) => `/?${new URLSearchParams({ ...(Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) as Record<string, string>), cursor })}`;
    return c.html(
      <Layout title="Events">
        <form class="filters" method="get" action="/">
          <select name="status">
            <option value="">any status</option>
            {['pending', 'delivered', 'dead'].map((s) => (
              <option value={s} selected={status === s}>{s}</option>
            ))}
          </select>
          <input name="type" placeholder="type, e.g. com.green-api.message.*" value={filters.type ?? ''} />
          <input name="chat" placeholder="chat id" value={filters.chat ?? ''} />
          <input name="instance" placeholder="instance" value={filters.instance ?? ''} />
          <select name="target">
            <option value="">any target</option>
            {config.targets.map((t) => (
              <option value={t.name} selected={filters.target === t.name}>{t.name}</option>
            ))}
          </select>
          <button type="submit">Filter</button>
          {filtered ? <a href="/">clear</a> : ''}
        </form>
        {config.targets.length === 0 ? (
          <p class="notice">
            No targets are configured: the relay keeps and shows what Green API sends to <span class="mono">POST /webhook</span>, and delivers it nowhere.
          </p>
        ) : (
          ''
        )}
        <EventTable events={page.items} next={page.next} nextHref={params} live={!filtered && !q.cursor} />
      </Layout>,
    );
  });

  ui.get('/events/:id', async (c) => {
    const event = await store.getEvent(c.req.param('id'));
    if (!event) return c.html(<Layout title="Not found"><p class="notice">No event {c.req.param('id')}.</p></Layout>, 404);
    const raw = text.decode(event.body);
    const byTarget = new Map<string, typeof event.attempts>();
    for (const a of event.attempts) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
    return c.html(
      <Layout title={event.type}>
        <Outcome c={c} />
        <h1 style="font-size:1.2rem">{event.type}</h1>
        <p class="mono">
          {event.id} · {time(event.receivedAt)} · chat {event.subject ?? '–'} · instance {event.instance}
          {event.duplicates > 0 ? ` · ${event.duplicates} duplicate(s)` : ''}
        </p>
        <h2 style="font-size:1rem">Deliveries</h2>
        <form class="inline" method="post" action={`/events/${event.id}/replay`}>
          <button type="submit">Replay to all targets</button>
        </form>
        <table>
          <thead>
            <tr>
              <th>target</th>
              <th>state</th>
              <th>timeline (series.attempt: status, latency)</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {event.deliveries.map((d) => (
              <tr>
                <td>{d.target}</td>
                <td>
                  <StatusBadge target="" status={d.status} />
                  {d.nextAt ? <div class="muted">next {time(d.nextAt)}</div> : ''}
                </td>
                <td>
                  <ol class="attempts" style="margin:0;padding-left:1.2rem">
                    {(byTarget.get(d.target) ?? []).map((a) => (
                      <li class={a.outcome === 'delivered' ? 'delivered' : a.outcome === 'dead' ? 'dead' : 'pending'}>
                        <span class="mono">
                          {a.series + 1}.{a.attempt} {time(a.startedAt)} {a.statusCode ?? '—'} {a.latencyMs} ms
                        </span>
                        {a.error ? <span class="muted"> {a.error}</span> : ''}
                      </li>
                    ))}
                  </ol>
                </td>
                <td>
                  <form class="inline" method="post" action={`/events/${event.id}/replay?target=${encodeURIComponent(d.target)}`}>
                    <button type="submit">Replay</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2 style="font-size:1rem">Event (as targets receive it)</h2>
        <pre>{pretty(structuredEvent(event.attributes, event.data, raw))}</pre>
        <h2 style="font-size:1rem">Raw notification</h2>
        <pre>{raw}</pre>
      </Layout>,
    );
  });

  ui.post('/events/:id/replay', (c) =>
    act(c, async () => {
      const replayed = await operations.replay(c.req.param('id'), c.req.query('target'));
      return `Replayed ${replayed} deliver${replayed === 1 ? 'y' : 'ies'}.`;
    }),
  );

  ui.get('/dead', async (c) => {
    const page = await store.listEvents({ status: 'dead', limit: PAGE, cursor: c.req.query('cursor') });
    const stats = await deps.targetStats();
    return c.html(
      <Layout title="Dead letters">
        <Outcome c={c} />
        <h1 style="font-size:1.2rem">Dead letters</h1>
        <p>
          {stats.filter((t) => t.dead > 0).map((t) => (
            <form class="inline" method="post" action={`/dead/${encodeURIComponent(t.target)}/replay`}>
              <button type="submit">
                Replay {t.dead} dead of {t.target}
              </button>{' '}
            </form>
          ))}
        </p>
        <EventTable events={page.items} next={page.next} nextHref={(cursor) => `/dead?cursor=${encodeURIComponent(cursor)}`} />
      </Layout>,
    );
  });

  ui.post('/dead/:target/replay', (c) =>
    act(c, async () => {
      const replayed = await operations.replayDead(c.req.param('target'));
      return `Replayed ${replayed} dead deliver${replayed === 1 ? 'y' : 'ies'} of ${c.req.param('target')}.`;
    }),
  );

  ui.get('/quarantine', async (c) => {
    const page = await store.listQuarantine(PAGE, c.req.query('cursor'));
    const items = await Promise.all(page.items.map(async (item) => ({ item, body: text.decode((await store.getQuarantined(item.id))!.body) })));
    return c.html(
      <Layout title="Quarantine">
        <Outcome c={c} />
        <h1 style="font-size:1.2rem">Quarantine</h1>
        <p class="muted">Bodies that carried a valid token but were not a notification. Fix one and release it to deliver it as an event.</p>
        {items.length === 0 ? <p class="muted">Nothing in quarantine.</p> : ''}
        {items.map(({ item, body }) => (
          <details>
            <summary>
              <span class="mono">{item.id}</span> {time(item.receivedAt)} · {item.reason}
              {item.releasedAs ? (
                <>
                  {' '}
                  · released as <a href={`/events/${item.releasedAs}`}>{item.releasedAs}</a>
                </>
              ) : (
                ''
              )}
            </summary>
            <form method="post" action={`/quarantine/${item.id}/release`}>
              <textarea name="body">{body}</textarea>
              <button type="submit" disabled={item.releasedAs !== null}>
                Release as an event
              </button>
            </form>
          </details>
        ))}
      </Layout>,
    );
  });

  ui.post('/quarantine/:id/release', (c) =>
    act(c, async () => {
      const form = await c.req.parseBody();
      const body = typeof form.body === 'string' ? new TextEncoder().encode(form.body) : undefined;
      const released = await operations.release(c.req.param('id'), body);
      return `Released as event ${released.id} (${released.status}).`;
    }),
  );

  ui.get('/targets', async (c) => {
    const stats = new Map((await deps.targetStats()).map((t) => [t.target, t]));
    return c.html(
      <Layout title="Targets">
        <h1 style="font-size:1.2rem">Targets</h1>
        {config.targets.length === 0 ? <p class="muted">No targets are configured.</p> : ''}
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
            {config.targets.map((target) => {
              const t = stats.get(target.name);
              const rate = t && t.attempts > 0 ? `${((100 * t.succeeded) / t.attempts).toFixed(1)}% of ${t.attempts}` : '–';
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
      </Layout>,
    );
  });

  return ui;
}
