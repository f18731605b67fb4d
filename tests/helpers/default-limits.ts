// A second Dawn device made the way an app may make its own: `requestDevice()` with no required
// limits, so it has WebGPU's defaults (8 storage buffers per stage, 128 MiB per binding) rather
// than the adapter's, which the library's own devices ask for. Node only.
import { gpu } from './gpu';

/** A device with WebGPU's default limits; its Dawn instance is held for the test process's life. */
export async function defaultLimitsDevice(): Promise<GPUDevice> {
  await gpu(); // loads Dawn's globals and picks the driver the shared device uses
  const { create } = await import('webgpu');
  const instance = create([]);
  const adapter = await instance.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter for a default-limits device');
  const device = await adapter.requestDevice();
  held.push(instance);
  return device;
}

/**
 * Collecting a Dawn instance takes its devices down, and the tests go on using devices they
 * destroyed (to see the refusals): dawn.node still polls the instance of such a device for its
 * pending work, and once the instance was collected that poll hung the test process in a lock of
 * freed memory (InstanceBase::ProcessEvents). So no instance made here is let go.
 */
const held: unknown[] = [];

/**
 * An adapter of WebGPU's compatibility mode (`featureLevel: 'compatibility'`): `requestDevice()`
 * on it gives that mode's default limits (128 invocations a workgroup), as an app targeting older
 * GPUs may hand the library, while the adapter's own limits are the hardware's. An adapter makes
 * one device.
 */
export async function compatibilityAdapter(): Promise<GPUAdapter> {
  await gpu();
  const { create } = await import('webgpu');
  const instance = create([]);
  const adapter = await instance.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  if (!adapter) throw new Error('no WebGPU adapter in compatibility mode');
  held.push(instance);
  return adapter;
}
