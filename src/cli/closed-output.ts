// A reader of the output that goes away (`webgpu-vae train --json | head -1`, a closed terminal):
// Node reports the failed write as an 'error' event on process.stdout or stderr, which, unheard,
// ends the process with a stack trace, the run's last steps unsaved. Here the closed stream stops
// taking writes, and whoever listens (the training run, run-stop.ts) stops as at a first Ctrl-C,
// saving a checkpoint. The reading commands just finish, their output going nowhere, as a
// command that ignores SIGPIPE does.

const listeners = new Set<() => void>();
let watching = false;

function closed(stream: NodeJS.WriteStream, e: NodeJS.ErrnoException): void {
  // EPIPE: a pipe's reader left; EIO: the terminal was closed (after its SIGHUP, which stops a run).
  if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
  // Later writes go nowhere instead of failing again.
  stream.write = (() => true) as typeof stream.write;
  for (const fn of [...listeners]) fn();
}

/** Listens for a closed stdout or stderr; call once, before any output. */
export function watchClosedOutput(): void {
  if (watching) return;
  watching = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', (e: NodeJS.ErrnoException) => closed(stream, e));
}

/** Calls `fn` when an output closes; returns the function that stops listening. */
export function onClosedOutput(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
