#!/usr/bin/env node
// The green-relay command. It runs the TypeScript sources of src/cli/ through tsx (`npm start`
// runs a bundle instead; the command line starts rarely enough not to need one).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
