#!/usr/bin/env node
// `npm run bench`: runs the TypeScript benchmark harness (bench/main.ts) through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bench/main.ts');
const code = await main(process.argv.slice(2));
// A live Dawn instance (ours or TF.js's) can keep the event loop alive after the work is done.
process.exit(code);
