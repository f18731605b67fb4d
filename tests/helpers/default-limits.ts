// A second Dawn device made the way an app may make its own: `requestDevice()` with no required
// limits, so it has WebGPU's defaults (8 storage buffers per stage, 128 MiB per binding) rather
// than the adapter's, which the library's own devices ask for. Node only.
import { gpu } from './gpu';

/** A device with WebGPU's default limits; its Dawn instance is held until the device is destroyed. */
export async function defaultLimitsDevice(): Promise<GPUDevice> {
  await gpu(); // loads Dawn's globals and picks the driver the shared device uses
  const { create } = await import('webgpu');
  const instance = create([]);
  const adapter = await instance.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter for a default-limits device');
  const device = await adapter.requestDevice();
  held.set(device, instance);
  device.lost.then(() => held.delete(device));
  return device;
}

/** Collecting a Dawn instance takes its devices down, so each is kept while its device lives. */
const held = new Map<GPUDevice, unknown>();
