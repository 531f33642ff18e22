// /api/openapi.json: an OpenAPI 3.1 document of the admin API, made from the zod schemas that
// validate it (https://spec.openapis.org/oas/v3.1.0).
import * as z from 'zod';
import { VERSION } from '../version.ts';
import {
  ErrorBody,
  EventDetail,
  EventsPage,
  EventsQuery,
  QuarantinedDetail,
  ReleaseResult,
  ReplayQuery,
  ReplayResult,
  TargetsPage,
  TargetSummary,
} from './schemas.ts';

type Operation = {
  method: 'get' | 'post';
  path: string;
  summary: string;
  query?: z.ZodObject;
  pathParams?: string[];
  body?: string;
  ok: z.ZodType;
};

/** Every route of api.ts; a test checks that each one answers. */
export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/api/events',
    summary: 'List events (or the quarantine) with their deliveries, newest first',
    query: EventsQuery,
    ok: EventsPage,
  },
  {
    method: 'get',
    path: '/api/events/{id}',
    summary: 'One event: envelope, raw body, deliveries and every attempt (q<n>: a quarantined body)',
    pathParams: ['id'],
    ok: z.union([EventDetail, QuarantinedDetail]),
  },
  {
    method: 'post',
    path: '/api/events/{id}/replay',
    summary: 'Deliver again now as a new attempt series, same event id and webhook-id',
    pathParams: ['id'],
    query: ReplayQuery,
    ok: ReplayResult,
  },
  {
    method: 'post',
    path: '/api/targets/{name}/replay-dead',
    summary: 'Replay every dead delivery of one target',
    pathParams: ['name'],
    ok: ReplayResult,
  },
  {
    method: 'get',
    path: '/api/targets',
    summary: 'Every target with its state (closed, open, paused), counts and last error',
    ok: TargetsPage,
  },
  {
    method: 'post',
    path: '/api/targets/{name}/pause',
    summary: "Hold a target's deliveries (as an open circuit does) until it is resumed; kept across restarts",
    pathParams: ['name'],
    ok: TargetSummary,
  },
  {
    method: 'post',
    path: '/api/targets/{name}/resume',
    summary: "Let a paused target's held deliveries flow again",
    pathParams: ['name'],
    ok: TargetSummary,
  },
  {
    method: 'post',
    path: '/api/quarantine/{id}/release',
    summary:
      'Accept a quarantined body as an event: the corrected notification in the body, or the stored body when empty',
    pathParams: ['id'],
    body: 'A Green API notification (JSON); optional',
    ok: ReleaseResult,
  },
];

const schema = (type: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(type, { io, unrepresentable: 'any' });

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [
      ...(op.pathParams ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(op.query?.shape ?? {}).map(([name, field]) => ({
        name,
        in: 'query',
        required: false,
        schema: schema(field as z.ZodType, 'input'),
      })),
    ];
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      security: [{ admin: [] }],
      parameters,
      ...(op.body
        ? { requestBody: { required: false, description: op.body, content: { 'application/json': { schema: {} } } } }
        : {}),
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: schema(op.ok, 'output') } } },
        default: { description: 'An error', content: { 'application/json': { schema: schema(ErrorBody, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'green-relay admin API', version: VERSION },
    components: {
      securitySchemes: { admin: { type: 'http', scheme: 'bearer', description: 'admin.token from the configuration' } },
    },
    paths,
  };
}
