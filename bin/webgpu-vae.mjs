#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npm start` needs no build step.

// A Ctrl-C while the program loads (about a second, tsx compiling the sources) is answered, not
// ended in silence; once loaded, each command answers signals itself.
const beforeStart = (sig) => {
  process.stderr.write(`\n${sig} received before the command started: nothing was done\n`);
  process.exit(sig === 'SIGTERM' ? 143 : 130);
};
process.on('SIGINT', beforeStart);
process.on('SIGTERM', beforeStart);
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
process.off('SIGINT', beforeStart);
process.off('SIGTERM', beforeStart);
const status = await main(process.argv.slice(2));
// A run stopped by SIGHUP (its terminal closed: status 129) has saved its checkpoint and let go of
// its folder; it ends by the signal itself, since Node's own exit restores the settings of the
// terminal it started on and, that terminal gone, fails an assertion and aborts (SIGABRT).
if (status === 129) process.kill(process.pid, 'SIGHUP');
process.exitCode = status;
