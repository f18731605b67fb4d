// How `train` is stopped: Ctrl-C, SIGTERM, SIGHUP (its terminal closed) or a hook's request. The
// first signal asks the run to stop at the next point where nothing is lost (a step boundary, with
// a checkpoint; before the first step; before the end-of-run pictures), and says which; a second
// one, a second or more later, quits at once, the last checkpoint on disk being complete.
// Autotuning and the end-of-epoch evaluation are cut short through `stopSignal`. A reader of the
// output that goes away (`train | head -1`) stops the run as a first Ctrl-C does (closed-output.ts).
// The commands that only read (stopReadingOnSignal) stop at the first signal, ended by it alike.
// SIGHUP, which a closing terminal (or a dropped ssh session) sends, ended a run at once without a
// word or a checkpoint, where Ctrl-C saved one: it is now answered as SIGTERM is.
import { constants } from 'node:os';
import { onClosedOutput } from './closed-output';
import { releaseAllRunLocks } from './run-lock';

/** The exit status of a run stopped by Ctrl-C or a hook's request (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** The signals that stop a run or a command: Ctrl-C, `kill`, a terminal that closes. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** 128 + the signal's number, as a shell reports a process the signal ended: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
export function stoppedExitCode(reason: NodeJS.Signals | 'requested' | null): number {
  const signal = reason && reason !== 'requested' ? constants.signals[reason] : undefined;
  return signal === undefined ? INTERRUPTED_EXIT_CODE : 128 + signal;
}

/**
 * Ends the process by `sig` itself, as Node would have (status 128 + its number), once `release`
 * has removed the handlers: an exit() while the GPU works runs the WebGPU addon's teardown under
 * it, which can crash (a segfault during an IWAE estimate, 3 of 3 tries).
 */
function endBySignal(sig: NodeJS.Signals, release: () => void): void {
  release();
  releaseAllRunLocks(); // no finally runs after this
  process.kill(process.pid, sig);
}

/**
 * A command that keeps nothing to save (eval, sample, ...): a Ctrl-C or SIGTERM says that it
 * stopped, then ends it by the signal, where Node would end it without a word. `left` says what
 * it leaves behind. Returns the function that stops listening.
 */
export function stopReadingOnSignal(command: string, left: string): () => void {
  const stop = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig} received: ${command} stopped before it finished; ${left}\n`);
    endBySignal(sig, release);
  };
  const release = () => {
    for (const sig of STOP_SIGNALS) process.off(sig, stop);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, stop);
  return release;
}

/** Signals within this many ms of the first are the same stop, not a second one (see onSignal). */
export const SAME_STOP_MS = 1000;

/** Where the run is, which decides what a first signal is answered with. */
export type RunPhase = 'preparing' | 'training' | 'drawing';

export class RunStop {
  /** Why the run is to stop, or null while it is not. */
  reason: NodeJS.Signals | 'requested' | null = null;
  phase: RunPhase = 'preparing';
  /** Aborted at the first stop: what waits on it (autotuning, an evaluation) ends early. */
  private readonly firstStop = new AbortController();
  /** When the first signal came (ms), or null before it. */
  private firstSignalAt: number | null = null;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.reason ??= sig;
    this.firstStop.abort();
    const now = Date.now();
    if (this.firstSignalAt !== null) {
      // One stop often arrives as two signals within milliseconds: `timeout` and job schedulers
      // signal the process and its group, a terminal's Ctrl-C reaches npm and its child. Only a
      // signal sent later is a person asking again.
      if (now - this.firstSignalAt < SAME_STOP_MS) return;
      this.say(`\n${sig} again: quitting without saving; ${this.lastCheckpoint()}`);
      endBySignal(sig, () => this.release());
      return;
    }
    this.firstSignalAt = now;
    if (this.phase === 'training') this.say(`\n${sig} received: stopping at the next step, with a checkpoint (again to quit now)`);
    if (this.phase === 'preparing') this.say(`\n${sig} received: stopping before the first step, once the picture being read or the kernels being compiled are done (again to quit now)`);
    if (this.phase === 'drawing') this.say(`\n${sig} received: the trained model is saved in ${this.outDir}; stopping before the end-of-run pictures are done (again to quit now)`);
  };

  /**
   * Listens for SIGINT, SIGTERM and SIGHUP until `release()`. `lastCheckpoint` says what a forced
   * quit leaves on disk; `say` prints a line for the user.
   */
  constructor(private readonly outDir: string, private readonly lastCheckpoint: () => string, private readonly say: (line: string) => void) {
    for (const sig of STOP_SIGNALS) process.on(sig, this.onSignal);
    this.unwatchOutput = onClosedOutput(() => {
      if (this.reason) return;
      this.say('\nthe output was closed (its reader went away): stopping at the next step, with a checkpoint');
      this.request();
    });
  }

  private readonly unwatchOutput: () => void;

  /** Aborted on the first stop: autotuning times no further candidate, an evaluation stops. */
  get stopSignal(): AbortSignal {
    return this.firstStop.signal;
  }

  /** A stop asked for by the program (a hook, a closed output), answered as a first Ctrl-C is. */
  request(): void {
    this.reason ??= 'requested';
    this.firstStop.abort();
  }

  /** How a message names the stop: "stopped", or "SIGINT received". */
  get said(): string {
    return this.reason === 'requested' ? 'stopped' : `${this.reason} received`;
  }

  /**
   * Takes over from the stop of the attempt before (a retried run): a stop it was asked for is this
   * one's too, and it stops listening only now that this one listens, so that no signal falls
   * between the two (Node would then end the process without a word, leaving the lock behind).
   */
  takeOver(previous: RunStop): void {
    if (previous.reason && !this.reason) {
      this.reason = previous.reason;
      this.firstStop.abort();
    }
    previous.release();
  }

  /** Stops listening; a second call does nothing. */
  release(): void {
    for (const sig of STOP_SIGNALS) process.off(sig, this.onSignal);
    this.unwatchOutput();
  }
}
