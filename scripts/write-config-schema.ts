// `npm run schema`: writes relay.config.schema.json from the zod schema in src/config.ts, for
// editors ("$schema": "./relay.config.schema.json"). A test fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config-schema.ts';

const file = new URL('../relay.config.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
