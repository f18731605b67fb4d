// Remembers the first WebGPU failure on a device (an uncaptured validation, out-of-memory or
// internal error, or the device being lost) as a GpuError naming the operation, so the next call
// into the model can throw it instead of computing on a broken device. Errors that name only an
// app's objects (a GPUDevice shared with the app) are left to the app.
import { GpuError } from '../errors';
import { concernsUs, errorOperation } from './labels';
import { deviceLostError } from './map-read';

export class FailureWatch {
  /** The first failure seen since `attach`; null while all is well. */
  failure: GpuError | null = null;
  private active = true;

  private readonly onError = (ev: Event) => {
    const error = (ev as GPUUncapturedErrorEvent).error;
    // An app sharing the device sees its own errors too; they are not the model's.
    if (!concernsUs(error.message, this.ownPrefix)) return;
    const type = error.constructor?.name ?? '';
    const kind = /OutOfMemory/.test(type) ? 'out-of-memory' : /Validation/.test(type) ? 'validation' : 'internal';
    const operation = errorOperation(error.message);
    this.failure ??= new GpuError(`WebGPU ${kind} error in ${operation}: ${error.message}`, operation, kind);
  };

  /** `ownPrefix`: the label prefix of the model's own buffers (modelLabelPrefix), so that another model's are not taken for its. */
  constructor(private readonly device: GPUDevice, private readonly ownPrefix?: string) {
    device.addEventListener('uncapturederror', this.onError);
    device.lost.then((info) => {
      if (!this.active) return;
      this.failure ??= deviceLostError(info);
    });
  }

  /** Stops watching (the model is being destroyed; a device loss after this is expected). */
  detach(): void {
    this.active = false;
    this.device.removeEventListener('uncapturederror', this.onError);
  }
}
