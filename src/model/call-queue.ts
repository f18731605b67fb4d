// The order of a model's operations. Each runs after the one called before it has finished, so
// that calls made without awaiting each other (a render loop beside training, Promise.all of
// samples, a save right after an un-awaited step) see the model as the calls before them left it.
// It also knows whether anything is queued, so that a write of model state can take effect at
// once when nothing is (VaeState.writeInOrder).

export class CallQueue {
  /** Where the last queued operation ends (settled either way: a failed call does not stop the next). */
  private tail: Promise<unknown> = Promise.resolve();
  /** Operations queued or running. */
  private pending = 0;

  /** True when no operation is queued or running. */
  get idle(): boolean {
    return this.pending === 0;
  }

  /**
   * Runs `op` after every operation queued before it. `op` must not await another call that
   * queues here: that call would wait for `op`, and `op` for it.
   */
  run<T>(op: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(op, op);
    // Registered before the caller can await `result`, so the count is down by the time the
    // caller's code after its await runs: a caller that awaited every call sees the queue idle.
    const done = () => void this.pending--;
    this.tail = result.then(done, done);
    return result;
  }
}
