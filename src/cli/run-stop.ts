// How `train` is stopped: Ctrl-C, SIGTERM or a hook's request. The first signal asks the run to
// stop at the next point where nothing is lost (a step boundary, with a checkpoint; before the
// first step; before the end-of-run pictures), and says which; a second one quits at once, the
// last checkpoint on disk being complete. Autotuning is cut short through `tuning`.

/** The exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Where the run is, which decides what a first signal is answered with. */
export type RunPhase = 'preparing' | 'training' | 'drawing';

export class RunStop {
  /** Why the run is to stop, or null while it is not. */
  reason: NodeJS.Signals | 'requested' | null = null;
  phase: RunPhase = 'preparing';
  private readonly tuning = new AbortController();
  private signals = 0;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.reason ??= sig;
    this.tuning.abort();
    if (++this.signals > 1) {
      this.say(`\n${sig} again: quitting without saving; ${this.lastCheckpoint()}`);
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    if (this.phase === 'preparing') this.say(`\n${sig} received: stopping once the data is loaded and the kernels compiled, before the first step (again to quit now)`);
    if (this.phase === 'drawing') this.say(`\n${sig} received: the trained model is saved in ${this.outDir}; stopping before the end-of-run pictures are done (again to quit now)`);
  };

  /**
   * Listens for SIGINT and SIGTERM until `release()`. `lastCheckpoint` says what a forced quit
   * leaves on disk; `say` prints a line for the user.
   */
  constructor(private readonly outDir: string, private readonly lastCheckpoint: () => string, private readonly say: (line: string) => void) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Aborted on the first stop: autotuning times no further candidate. */
  get tuningSignal(): AbortSignal {
    return this.tuning.signal;
  }

  /** A stop asked for by the program (a hook), answered as a first Ctrl-C is. */
  request(): void {
    this.reason ??= 'requested';
  }

  /** How a message names the stop: "stopped", or "SIGINT received". */
  get said(): string {
    return this.reason === 'requested' ? 'stopped' : `${this.reason} received`;
  }

  release(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
