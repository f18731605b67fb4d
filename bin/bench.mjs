#!/usr/bin/env node
// `npm run bench`: runs the TypeScript benchmark harness (bench/main.ts, or bench/soak-main.ts for
// --soak) through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const entry = process.argv.slice(2).includes('--soak') ? '../bench/soak-main.ts' : '../bench/main.ts';
const { main } = await import(entry);
const code = await main(process.argv.slice(2));
// A live Dawn instance (ours or TF.js's) can keep the event loop alive after the work is done.
process.exit(code);
