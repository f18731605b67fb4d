// Getting a GPUDevice: a caller's own device (never replaced, never destroyed by us), or one from
// `navigator.gpu` in browsers and workers. Node goes through `node-device.ts`, which wraps Dawn.
import { NoWebGPUError } from '../errors';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (SwiftShader), whose cost model differs from a GPU's. */
  isSoftware: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** True when this library created the device and so must destroy it. */
  owned: boolean;
  /** Human-readable note on how the device was found (e.g. "using SwiftShader from ..."). */
  note?: string;
  /** false when the device's shaders run without WebGPU's bounds checks (acquireNodeDevice's boundsChecks). */
  boundsChecks?: boolean;
}

export function summarizeAdapter(info: GPUAdapterInfo | undefined, features: GPUSupportedFeatures): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${description}`.toLowerCase();
  return {
    vendor, architecture, description,
    device: info?.device ?? '',
    isSoftware: /swiftshader|llvmpipe|lavapipe|software|warp/.test(text),
    subgroups: features.has('subgroups'),
    timestampQuery: features.has('timestamp-query'),
  };
}

export function describeAdapter(a: AdapterSummary): string {
  // Vulkan drivers often describe themselves by driver version alone ("NVIDIA: 580.159.04"); the
  // device name ("nvidia-h200") is then the only place the GPU model appears.
  const squash = (t: string) => t.toLowerCase().replace(/[^a-z0-9]/g, '');
  const named = !a.device || a.isSoftware || squash(a.description).includes(squash(a.device));
  const parts = [a.vendor, a.architecture, named ? '' : a.device, a.description].filter(Boolean);
  return (parts.length ? parts.join(' / ') : 'unknown adapter') + (a.isSoftware ? ' (software, CPU)' : '');
}

/**
 * Devices seen lost or destroyed. Nothing may be made on such a device: Dawn for Node crashes or
 * hangs instead of reporting an error, so models check here before touching one.
 */
const goneDevices = new WeakSet<GPUDevice>();
const watchedDevices = new WeakSet<GPUDevice>();

/** Remembers `device` as gone once its lost promise settles (destroy() included). */
export function watchDeviceLoss(device: GPUDevice): void {
  if (watchedDevices.has(device)) return;
  watchedDevices.add(device);
  device.lost?.then(() => goneDevices.add(device), () => {});
}

/** Why the library destroyed a device it owned, for the refusals of later calls on it. */
const whyGone = new WeakMap<GPUDevice, string>();

/**
 * Destroys a device this library owns, remembering at once that it is gone (its lost promise
 * settles a turn later) and `why`, which later refusals on the device quote.
 */
export function destroyOwnedDevice(device: GPUDevice, why: string): void {
  goneDevices.add(device);
  whyGone.set(device, why);
  device.destroy();
}

/** Why the library destroyed `device`, or undefined where it did not (an app's destroy(), a loss). */
export function whyDeviceGone(device: GPUDevice): string | undefined {
  return whyGone.get(device);
}

/** Whether `device` is known to be lost or destroyed. */
export function isDeviceGone(device: GPUDevice): boolean {
  return goneDevices.has(device);
}

/**
 * Whether `device` is lost or destroyed, asking the device itself when we have not yet watched it:
 * a caller may pass a device it destroyed before we ever saw it, and the lost promise of a
 * destroyed device settles only after the current task, so it is given until the next macrotask.
 * A live device's promise stays pending, so this costs one macrotask.
 */
export async function isDeviceGoneAfterSettling(device: GPUDevice): Promise<boolean> {
  watchDeviceLoss(device);
  if (goneDevices.has(device)) return true;
  if (!device.lost) return false;
  const lostBeforeNextTask = await Promise.race([
    device.lost.then(() => true, () => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 0)),
  ]);
  if (lostBeforeNextTask) goneDevices.add(device);
  return lostBeforeNextTask;
}

/** Features we use when present; requesting them is harmless and lets kernels pick faster variants. */
const OPTIONAL_FEATURES: GPUFeatureName[] = ['subgroups', 'timestamp-query', 'shader-f16'];

/** Requests a device with the adapter's full storage limits, so large batches fit. */
export async function deviceFromAdapter(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  watchDeviceLoss(device);
  return device;
}

/** Wraps a caller-supplied device. We read its features but never destroy it. */
export function wrapDevice(device: GPUDevice, info?: GPUAdapterInfo): AcquiredDevice {
  const adapterInfo = info ?? (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return { device, adapter: summarizeAdapter(adapterInfo, device.features), owned: false, ...(UNCHECKED_DEVICES.has(device) ? { boundsChecks: false } : {}) };
}

/**
 * Devices made without WebGPU's bounds checks (acquireNodeDevice's boundsChecks: false), so that
 * one passed on bare, as a GPUDevice, still says so (wrapDevice): the autotuner keeps its choices apart.
 */
export const UNCHECKED_DEVICES = new WeakSet<GPUDevice>();

/** Whether this is Deno, whose `navigator.gpu` is wgpu's: the advice differs from a browser's. */
const inDeno = () => typeof (globalThis as { Deno?: unknown }).Deno === 'object';

/** Browser, worker and Deno path: `navigator.gpu`, with a message that says how to enable WebGPU. */
export async function acquireBrowserDevice(): Promise<AcquiredDevice> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new NoWebGPUError(inDeno()
      ? 'WebGPU is not available in this Deno (navigator.gpu is missing). Use Deno 2 or later, or run Deno 1.x with --unstable-webgpu.'
      : 'WebGPU is not available here (navigator.gpu is missing). Use a recent Chrome, Edge or Firefox ' +
        'over https or localhost; on Linux start Chrome with --enable-unsafe-webgpu.');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoWebGPUError(inDeno()
      ? 'WebGPU is present but no adapter was granted: Deno found no usable Vulkan, Metal or DX12 driver. Install the GPU\'s ' +
        'Vulkan driver, or without a GPU point Vulkan at SwiftShader or lavapipe (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json), ' +
        'and leave DENO_WEBGPU_BACKEND unset or set it to a backend this machine has.'
      : 'WebGPU is present but no adapter was granted (GPU blocked or unsupported). Check chrome://gpu, ' +
        'update the GPU driver, or enable software WebGPU with --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader.');
  }
  const device = await deviceFromAdapter(adapter);
  return { device, adapter: summarizeAdapter(adapter.info, adapter.features), owned: true };
}
