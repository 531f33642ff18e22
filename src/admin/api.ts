// The admin API under /api (contract §6): list and read events, replay them, bulk-replay a
// target's dead letters, and release quarantined bodies. Inputs are validated with the zod schemas
// of schemas.ts, which also make /api/openapi.json (openapi.ts).
import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import type * as z from 'zod';
import { structuredEvent } from '../event.ts';
import { errorResponse } from '../http.ts';
import { isQuarantineId } from '../store/rules.ts';
import type {
  DeliveryState,
  EventDetail as StoredEventDetail,
  EventSummary as StoredEventSummary,
  QuarantineSummary,
  AppStore,
} from '../store/store.ts';
import { openApiDocument } from './openapi.ts';
import type { RelayConfig } from '../config.ts';
import type { Operations } from './operations.ts';
import type { TargetView } from './targets.ts';
import {
  EventsQuery,
  IdParam,
  ReplayQuery,
  TargetParam,
  type Attempt,
  type EventDetail,
  type EventSummary,
  type Quarantined,
} from './schemas.ts';

export interface AdminApiDeps {
  config: RelayConfig;
  store: AppStore;
  operations: Operations;
  /** The targets with their state and counts (app.ts: the 24-hour window). */
  targets: () => Promise<TargetView[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const text = new TextDecoder();

/** Query and param errors in the relay's error shape. */
const invalid = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => {
  if (!result.success) {
    const issue = result.error!.issues[0]!;
    return errorResponse('bad_request', `${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
};

export function deliveryJson(d: DeliveryState): z.infer<typeof EventSummary>['deliveries'][number] {
  return {
    target: d.target,
    status: d.status,
    attempts: d.attempts,
    series: d.series,
    inFlight: d.leased,
    nextAt: d.nextAt === null ? null : iso(d.nextAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    updatedAt: iso(d.updatedAt),
  };
}

export function summaryJson(e: StoredEventSummary): z.infer<typeof EventSummary> {
  return {
    id: e.id,
    instance: e.instance,
    type: e.type,
    subject: e.subject,
    receivedAt: iso(e.receivedAt),
    duplicates: e.duplicates,
    preview: e.preview,
    recovered: e.recovered,
    deliveries: e.deliveries.map(deliveryJson),
  };
}

export function detailJson(e: StoredEventDetail): z.infer<typeof EventDetail> {
  const raw = text.decode(e.body);
  return {
    ...summaryJson(e),
    event: JSON.parse(structuredEvent(e.attributes, e.data, raw)) as Record<string, unknown>,
    raw,
    attempts: e.attempts.map((a): z.infer<typeof Attempt> => ({ ...a, startedAt: iso(a.startedAt) })),
  };
}

export function quarantinedJson(q: QuarantineSummary): z.infer<typeof Quarantined> {
  return { ...q, status: 'quarantined', receivedAt: iso(q.receivedAt) };
}

/** RFC 3339 or Unix seconds/milliseconds -> epoch ms. */
function toMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return value.length <= 10 ? Number(value) * 1000 : Number(value);
  return Date.parse(value);
}

export function createAdminApi({ store, operations, targets }: AdminApiDeps): Hono {
  const api = new Hono();

  api.get('/openapi.json', (c) => c.json(openApiDocument()));

  api.get('/events', zValidator('query', EventsQuery, invalid), async (c) => {
    const q = c.req.valid('query');
    if (q.status === 'quarantined') {
      const page = await store.listQuarantine(q.limit, q.cursor);
      return c.json({ items: page.items.map(quarantinedJson), next: page.next });
    }
    const page = await store.listEvents({ ...q, status: q.status, since: toMs(q.since), until: toMs(q.until) });
    return c.json({ items: page.items.map(summaryJson), next: page.next });
  });

  api.get('/events/:id', zValidator('param', IdParam, invalid), async (c) => {
    const { id } = c.req.valid('param');
    if (isQuarantineId(id)) {
      const q = await store.getQuarantined(id);
      return q
        ? c.json({ ...quarantinedJson(q), body: text.decode(q.body) })
        : errorResponse('not_found', `no quarantined body ${id}`);
    }
    const event = await store.getEvent(id);
    return event ? c.json(detailJson(event)) : errorResponse('not_found', `no event ${id}`);
  });

  // An operation's refusal (OperationError) is an HTTPException: app.ts answers it as it is.
  api.post(
    '/events/:id/replay',
    zValidator('param', IdParam, invalid),
    zValidator('query', ReplayQuery, invalid),
    async (c) => c.json({ replayed: await operations.replay(c.req.valid('param').id, c.req.valid('query').target) }),
  );

  api.post('/targets/:name/replay-dead', zValidator('param', TargetParam, invalid), async (c) =>
    c.json({ replayed: await operations.replayDead(c.req.valid('param').name) }),
  );

  api.get('/targets', async (c) => c.json({ items: await targets() }));

  for (const action of ['pause', 'resume'] as const) {
    api.post(`/targets/:name/${action}`, zValidator('param', TargetParam, invalid), async (c) => {
      const { name } = c.req.valid('param');
      await operations.setPaused(name, action === 'pause');
      return c.json((await targets()).find((t) => t.name === name)!);
    });
  }

  api.post('/quarantine/:id/release', zValidator('param', IdParam, invalid), async (c) =>
    c.json(await operations.release(c.req.valid('param').id, new Uint8Array(await c.req.arrayBuffer()))),
  );

  return api;
}
