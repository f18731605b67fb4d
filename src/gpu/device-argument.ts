// Whether an argument is a GPUDevice, and if not, what it is and what to pass instead: a model's
// options.device and the kernels API's device arguments are refused by name here, where anything
// else would fail later as a bare TypeError from deep inside. Duck-typed, since Dawn's and
// browsers' device classes differ and a device may be wrapped (Proxy).
import { ConfigError, kindOfValue } from '../errors';

/** Whether `x` has what the library calls on a device. */
export function looksLikeGpuDevice(x: unknown): boolean {
  const d = x as Partial<GPUDevice> | null;
  return !!d && typeof d === 'object' && typeof d.createBuffer === 'function' && typeof d.pushErrorScope === 'function' &&
    typeof d.popErrorScope === 'function' && typeof d.queue === 'object' && d.queue !== null;
}

/**
 * What `x`, which is not a GPUDevice, is instead and what to pass, completing "<what> ...".
 * `acceptsAcquired`: whether the caller also takes an acquire*Device() result (VAE.create does).
 */
export function whyNotADevice(x: unknown, acceptsAcquired: boolean): string {
  const acquire = 'acquireNodeDevice() (Node) / acquireBrowserDevice() (browsers)';
  if (x && typeof x === 'object' && typeof (x as Partial<GPUAdapter>).requestDevice === 'function') {
    return 'is a GPUAdapter, not a GPUDevice; call adapter.requestDevice() and pass the device it gives (docs/API.md shows the limits to ask for), ' +
      `or pass ${acceptsAcquired ? acquire : `the .device of ${acquire}`}, which do this for you`;
  }
  if (!acceptsAcquired && x && typeof x === 'object' && 'adapter' in x && looksLikeGpuDevice((x as { device?: unknown }).device)) {
    return 'is the result of acquire*Device() (a device with its adapter summary), not a GPUDevice; pass its .device';
  }
  return `is not a GPUDevice (got ${kindOfValue(x)}, which lacks createBuffer, pushErrorScope, popErrorScope or queue); ` +
    (acceptsAcquired ? 'pass your GPUDevice, or the result of acquireNodeDevice() (Node) or acquireBrowserDevice() (browsers) unchanged' : `pass your GPUDevice, or the .device of ${acquire}`);
}

/** Refuses a `device` argument of the kernels API that is not a GPUDevice, naming `what` it is. */
export function checkDeviceArgument(device: unknown, what: string): void {
  if (!looksLikeGpuDevice(device)) throw new ConfigError(`${what} ${whyNotADevice(device, false)}`);
}
