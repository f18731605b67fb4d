// Mapping a buffer for reading, with a lost device named as such. When the device goes (destroyed
// by its owner, or lost) while a read is pending, the browser rejects mapAsync with a bare
// AbortError ("The Device was lost before mapping was resolved") that says nothing of what to do;
// the model's callers expect a GpuError of kind 'device-lost', as every call after the loss gives.
import { GpuError } from '../errors';
import { gentleWait } from './gentle-wait';
import { MapMode } from './webgpu-flags';

/** How long a failed map waits for `device.lost` to say the device went, ms. */
const LOSS_SETTLES_MS = 1000;

/** The GpuError every call gives once `device` is lost (a trailing period of the reason dropped). */
export function deviceLostError(info: GPUDeviceLostInfo): GpuError {
  return new GpuError(`the GPU device was lost (${info.reason}): ${info.message.replace(/\.+\s*$/, '')}. Create the model again on a new device, e.g. from a saved checkpoint`, 'device', 'device-lost');
}

/** buffer.mapAsync(READ, ...) awaited gently; a failure on a device that is lost becomes its GpuError. */
export async function mapForReading(device: GPUDevice, buffer: GPUBuffer, offset?: number, size?: number): Promise<void> {
  try {
    await gentleWait(() => buffer.mapAsync(MapMode.READ, offset, size));
  } catch (e) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A map cut short by the model's own destroy() waits here too: the timer must not keep Node alive.
    const lost = await Promise.race([device.lost, new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), LOSS_SETTLES_MS);
      (timer as { unref?: () => void }).unref?.();
    })]);
    clearTimeout(timer);
    if (lost) throw deviceLostError(lost);
    throw e;
  }
}
