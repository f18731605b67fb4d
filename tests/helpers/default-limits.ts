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
