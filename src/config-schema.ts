// The JSON Schema of the config file, generated from the zod schema that validates it, so the
// two cannot drift (https://json-schema.org/draft/2020-12/schema).
import * as z from 'zod';
import { ConfigSchema } from './config.ts';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'green-relay configuration',
  };
}
