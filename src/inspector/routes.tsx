// The web inspector at / (contract §6): sign-in, and the pages (one component each in pages/).
// Every page route is registered on one sub-app, and the admin guard is put in front of each of
// its paths from that sub-app's own route list, so a page cannot be added unguarded. Paths that
// are no page fall through to the app's 404. With no targets the inspector is a Green-API-aware
// webhook.site: point an instance at the relay and watch.
import { zValidator } from '@hono/zod-validator';
import { Hono, type Context } from 'hono';
import { setCookie } from 'hono/cookie';
import * as z from 'zod';
import { ADMIN_COOKIE, type AdminAuth } from '../admin/auth.ts';
import { OperationError, type Operations } from '../admin/operations.ts';
import type { TargetView } from '../admin/targets.ts';
import { EventsQuery } from '../admin/schemas.ts';
import type { RelayConfig } from '../config.ts';
import type { AppStore, TargetStats } from '../store/store.ts';
import { Layout } from './layout.tsx';
import { DeadPage } from './pages/dead.tsx';
import { EventPage, type ArchivedFile } from './pages/event.tsx';
import type { MediaLinks } from '../media/links.ts';
import { EventsPage } from './pages/events.tsx';
import { LoginPage } from './pages/login.tsx';
import { QuarantinedPage, QuarantinePage } from './pages/quarantine.tsx';
import { TargetsPage } from './pages/targets.tsx';

export interface InspectorDeps {
  config: RelayConfig;
  store: AppStore;
  admin: AdminAuth;
  operations: Operations;
  targetStats: () => Promise<TargetStats[]>;
  targets: () => Promise<TargetView[]>;
  now: () => number;
  /** Signs the archived files' links the event page shows (media archive on). */
  media?: MediaLinks;
}

const PAGE = 50;
/** The charts: per minute, over the last 24 hours. */
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 3_600_000;

/** A form submits empty fields for filters left blank: they mean "any", as if absent. */
const withoutBlanks = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (query) => Object.fromEntries(Object.entries(query as Record<string, string>).filter(([, v]) => v !== '')),
    schema,
  );

/** The events page's filters: the admin API's own query schema, without the quarantine (it has its page). */
const EventsPageQuery = withoutBlanks(
  EventsQuery.pick({ type: true, instance: true, chat: true, target: true, cursor: true }).extend({
    status: z.enum(['dead', 'pending', 'delivered']).optional(),
  }),
);
const CursorQuery = withoutBlanks(z.object({ cursor: z.string().optional() }));

/** What a button's redirect brought along, for the page's notice. */
const outcome = (c: Context) => ({ done: c.req.query('done'), failed: c.req.query('failed') });

export function createInspector(deps: InspectorDeps): Hono {
  const { config, store, admin, operations, now } = deps;
  const ui = new Hono();

  ui.get('/login', (c) => {
    c.header('referrer-policy', 'no-referrer');
    c.header('cache-control', 'no-store');
    return c.html(
      <LoginPage
        next={c.req.query('next') ?? '/'}
        failed={c.req.query('failed') !== undefined}
        closed={admin.closed}
      />,
    );
  });

  ui.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next =
      typeof form.next === 'string' && form.next.startsWith('/') && !form.next.startsWith('//') ? form.next : '/';
    const session = await admin.session(typeof form.token === 'string' ? form.token : '');
    if (!session) return c.redirect(`/login?failed=1&next=${encodeURIComponent(next)}`, 303);
    // Secure behind a TLS-terminating proxy too; a forged header only keeps the cookie off plain HTTP.
    const https = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
    setCookie(c, ADMIN_COOKIE, session, { httpOnly: true, sameSite: 'Strict', path: '/', secure: https });
    return c.redirect(next, 303);
  });

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
  const notFound = (c: Context, what: string) =>
    c.html(
      <Layout title="Not found">
        <p class="notice">No {what}.</p>
      </Layout>,
      404,
    );

  const pages = new Hono();

  pages.get(
    '/',
    zValidator('query', EventsPageQuery, (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0]!;
        return c.html(
          <EventsPage
            config={config}
            filters={{}}
            events={[]}
            next={null}
            live={false}
            invalid={`${issue.path.join('.')}: ${issue.message}`}
          />,
          400,
        );
      }
    }),
    async (c) => {
      const { cursor, ...filters } = c.req.valid('query');
      const since = now() - DAY_MS;
      const [page, activity] = await Promise.all([
        store.listEvents({ ...filters, limit: PAGE, cursor }),
        cursor ? null : store.activity(since, MINUTE_MS),
      ]);
      const chart = activity
        ? { since, bucketMs: MINUTE_MS, buckets: DAY_MS / MINUTE_MS, received: activity.received }
        : undefined;
      return c.html(
        <EventsPage
          config={config}
          filters={filters}
          events={page.items}
          next={page.next}
          live={!cursor}
          chart={chart}
        />,
      );
    },
  );

  pages.get('/events/:id', async (c) => {
    const event = await store.getEvent(c.req.param('id'));
    if (!event) return notFound(c, `event ${c.req.param('id')}`);
    const files = deps.media ? await archivedFiles(event, deps.media, store, deps.now()) : [];
    return c.html(<EventPage event={event} files={files} {...outcome(c)} />);
  });

  pages.post('/events/:id/replay', (c) =>
    act(c, async () => {
      const replayed = await operations.replay(c.req.param('id'), c.req.query('target'));
      return `Replayed ${replayed} deliver${replayed === 1 ? 'y' : 'ies'}.`;
    }),
  );

  pages.get('/dead', zValidator('query', CursorQuery), async (c) => {
    const page = await store.listEvents({ status: 'dead', limit: PAGE, cursor: c.req.valid('query').cursor });
    return c.html(<DeadPage events={page.items} next={page.next} stats={await deps.targetStats()} {...outcome(c)} />);
  });

  pages.post('/dead/:target/replay', (c) =>
    act(c, async () => {
      const replayed = await operations.replayDead(c.req.param('target'));
      return `Replayed ${replayed} dead deliver${replayed === 1 ? 'y' : 'ies'} of ${c.req.param('target')}.`;
    }),
  );

  pages.get('/quarantine', zValidator('query', CursorQuery), async (c) => {
    const page = await store.listQuarantine(PAGE, c.req.valid('query').cursor);
    return c.html(<QuarantinePage items={page.items} next={page.next} {...outcome(c)} />);
  });

  pages.get('/quarantine/:id', async (c) => {
    const item = await store.getQuarantined(c.req.param('id'));
    return item
      ? c.html(<QuarantinedPage item={item} {...outcome(c)} />)
      : notFound(c, `quarantined body ${c.req.param('id')}`);
  });

  pages.post('/quarantine/:id/release', (c) =>
    act(c, async () => {
      const form = await c.req.parseBody();
      const body = typeof form.body === 'string' ? new TextEncoder().encode(form.body) : undefined;
      const released = await operations.release(c.req.param('id'), body);
      return `Released as event ${released.id} (${released.status}).`;
    }),
  );

  pages.get('/targets', async (c) => {
    const since = now() - DAY_MS;
    const [targets, activity] = await Promise.all([deps.targets(), store.activity(since, MINUTE_MS)]);
    return c.html(
      <TargetsPage
        targets={targets}
        activity={activity}
        since={since}
        bucketMs={MINUTE_MS}
        buckets={DAY_MS / MINUTE_MS}
        {...outcome(c)}
      />,
    );
  });

  for (const action of ['pause', 'resume'] as const) {
    pages.post(`/targets/:name/${action}`, (c) =>
      act(c, async () => {
        await operations.setPaused(c.req.param('name'), action === 'pause');
        return `${c.req.param('name')} ${action === 'pause' ? 'is paused: its deliveries are held until it is resumed' : 'is resumed'}.`;
      }),
    );
  }

  const guard = admin.middleware((c) => c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303));
  for (const path of new Set(pages.routes.map((route) => route.path))) ui.use(path, guard);
  ui.route('/', pages);
  return ui;
}

/** The event's files in the archive, with links for the page (an hour is plenty for a look). */
async function archivedFiles(
  event: { id: string; instance: string },
  links: MediaLinks,
  store: Pick<AppStore, 'getMedia'>,
  now: number,
): Promise<ArchivedFile[]> {
  const records = await store.getMedia(event.id, event.instance);
  return Promise.all(
    records.map(async (r) => ({
      part: r.part,
      status: r.status,
      contentType: r.contentType,
      bytes: r.bytes,
      error: r.error,
      url:
        r.status === 'archived'
          ? await links.sign({ instance: event.instance, eventId: event.id, part: r.part }, now, 3_600_000)
          : null,
    })),
  );
}
