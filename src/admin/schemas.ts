// The admin API's inputs and outputs as zod schemas: the same objects validate requests and
// generate /api/openapi.json, so the document cannot drift from what the API does.
import * as z from 'zod';

const time = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{10,13}$/)])
  .describe('RFC 3339 time or Unix epoch (s or ms)');

export const EventsQuery = z.object({
  status: z
    .enum(['dead', 'pending', 'delivered', 'quarantined'])
    .optional()
    .describe('Events with a delivery in this state (delivered: all delivered); quarantined lists the quarantine'),
  type: z.string().optional().describe('Exact type or prefix wildcard, e.g. com.green-api.message.*'),
  instance: z
    .string()
    .regex(/^\d{1,20}$/)
    .optional(),
  chat: z.string().optional().describe('Chat id (the event subject)'),
  target: z.string().optional().describe('Only events with a delivery to this target (with status: in that state)'),
  since: time.optional(),
  until: time.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional().describe("The previous page's next"),
});

export const ReplayQuery = z.object({ target: z.string().optional().describe('Replay to this target only') });
export const TargetParam = z.object({ name: z.string() });
export const IdParam = z.object({ id: z.string() });

const Delivery = z.object({
  target: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int().describe('Attempts made in the current series'),
  series: z.number().int().describe('Replays so far (0: the first series)'),
  inFlight: z.boolean(),
  nextAt: z.string().nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  updatedAt: z.string(),
});

export const EventSummary = z.object({
  id: z.string(),
  instance: z.string(),
  type: z.string(),
  subject: z.string().nullable(),
  receivedAt: z.string(),
  duplicates: z.number().int(),
  preview: z.string().nullable().describe('What it is about: message kind and text, status, or state'),
  recovered: z.boolean().describe("Rebuilt from Green API's journal: its webhook never came"),
  deliveries: z.array(Delivery),
});

export const Attempt = z.object({
  target: z.string(),
  series: z.number().int(),
  attempt: z.number().int(),
  startedAt: z.string(),
  latencyMs: z.number(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  outcome: z
    .enum(['delivered', 'retry', 'dead', 'held'])
    .describe('held: a probe or an attempt made while the target was held; it spent no retry'),
});

export const EventDetail = EventSummary.extend({
  event: z.record(z.string(), z.unknown()).describe('The CloudEvent as targets receive it in structured mode'),
  raw: z.string().describe('The body exactly as Green API sent it'),
  attempts: z.array(Attempt),
});

export const Quarantined = z.object({
  id: z.string(),
  status: z.literal('quarantined'),
  receivedAt: z.string(),
  reason: z.string(),
  instance: z.string().nullable(),
  contentType: z.string().nullable(),
  bytes: z.number().int(),
  releasedAs: z.string().nullable(),
});

export const QuarantinedDetail = Quarantined.extend({
  body: z.string().describe('The body as received (UTF-8, invalid bytes replaced)'),
});

export const EventsPage = z.object({
  items: z.array(z.union([EventSummary, Quarantined])),
  next: z.string().nullable(),
});
export const ReplayResult = z.object({ replayed: z.number().int().describe('Deliveries made due now') });
export const ReleaseResult = z.object({ status: z.enum(['accepted', 'duplicate']), id: z.string() });
export const TargetStateJson = z.object({
  state: z
    .enum(['closed', 'open', 'paused'])
    .describe('open: its circuit is open and deliveries are held; paused: held by an operator'),
  openedAt: z.string().nullable(),
  pausedAt: z.string().nullable(),
  probing: z.boolean().describe('The circuit is open and a probe is due or under way'),
  nextProbeAt: z.string().nullable(),
  failures: z.number().int().describe('Failed attempts since the last success'),
  lastError: z.string().nullable(),
});

export const TargetSummary = TargetStateJson.extend({
  name: z.string(),
  url: z.string(),
  format: z.string(),
  rateLimit: z.string().nullable().describe('Starts per second or minute, e.g. "20/s"'),
  circuit: z.object({ afterFailures: z.number().int(), probeEvery: z.string(), holdFor: z.string() }).nullable(),
  pending: z.number().int().describe('Deliveries waiting (held, while the target is)'),
  held: z.number().int(),
  dead: z.number().int(),
  delivered: z.number().int(),
  attempts: z.number().int().describe('Attempts in the last 24 hours'),
  succeeded: z.number().int(),
});

export const TargetsPage = z.object({ items: z.array(TargetSummary) });

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
