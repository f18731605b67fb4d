// Node path to a GPUDevice through Dawn (npm package `webgpu`). On machines without a GPU driver
// we fall back to a SwiftShader Vulkan driver (CPU) shipped by Chromium, and say so.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, NoWebGPUError } from '../errors';
import { type AcquiredDevice, deviceFromAdapter, summarizeAdapter, UNCHECKED_DEVICES } from './device';

/** Places where a SwiftShader Vulkan ICD is commonly installed. */
export function findSwiftShaderIcds(): string[] {
  const found: string[] = [];
  const direct = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json', '/opt/google/chrome/vk_swiftshader_icd.json'];
  for (const p of direct) if (existsSync(p)) found.push(p);
  // Playwright's downloaded Chromium builds live in ~/.cache/ms-playwright/chromium-NNNN/chrome-linux*/.
  const pwRoot = process.env.PLAYWRIGHT_BROWSERS_PATH || join(homedir(), '.cache', 'ms-playwright');
  if (existsSync(pwRoot)) {
    for (const dir of readdirSync(pwRoot).filter((d) => d.startsWith('chromium')).sort().reverse()) {
      for (const sub of ['chrome-linux', 'chrome-linux64']) {
        const p = join(pwRoot, dir, sub, 'vk_swiftshader_icd.json');
        if (existsSync(p)) found.push(p);
      }
    }
  }
  return found;
}

/** A kernel GPU device node (NVIDIA, or any DRM render node: AMD, Intel, ...). */
function hasGpuDeviceNode(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

type Gpu = { requestAdapter(o?: GPURequestAdapterOptions): Promise<GPUAdapter | null> };
/**
 * Each device holds the Dawn instance that made it for as long as the device object is reachable,
 * lost or destroyed included. Collecting an instance takes its devices down, and a later call on
 * one of them (an app creating a buffer on a device it destroyed, to see the error) then aborts the
 * process in Dawn. A held instance does not keep Node running (webgpu 0.6).
 */
const instanceOf = new WeakMap<GPUDevice, Gpu>();

/**
 * Dawn rounds timestamp-query results to a coarse step by default (a browser's guard against timing
 * attacks); on a real GPU a small kernel then reads as zero time. Node has no such threat model,
 * so benchmarks and the autotuner get the full resolution.
 */
const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];
/** Dawn's toggle that compiles shaders without WebGPU's bounds checks on buffer accesses. */
const UNCHECKED_FLAG = 'enable-dawn-features=disable_robustness';
/** The environment variable that turns the bounds checks off for every device acquireNodeDevice makes. */
export const BOUNDS_CHECKS_VARIABLE = 'WEBGPU_VAE_BOUNDS_CHECKS';

export interface NodeDeviceOptions {
  /** Print-free logger for the "using SwiftShader" note; defaults to silence. */
  log?: (line: string) => void;
  /**
   * WebGPU's bounds checks on the shaders' buffer accesses (Dawn clamps every index into its
   * binding). Default true, or false where WEBGPU_VAE_BOUNDS_CHECKS=0. false compiles shaders
   * without them (Dawn's disable_robustness toggle), as CUDA and native Vulkan code runs: the
   * library's kernels stay inside their bindings by construction (every binding is checked to hold
   * what its kernel reads for its shape before it is bound, and the Node test suite passes on
   * devices made without the checks), and on SwiftShader the default training step takes about 30% less time. A shader that
   * does index past a binding then reads or overwrites other memory, so keep the checks for
   * kernels of your own, or for any shader you have not tested.
   */
  boundsChecks?: boolean;
}

/** The bounds-checks choice: the option when given, else the environment's, else on. */
export function boundsChecksWanted(opts: NodeDeviceOptions): boolean {
  if (opts.boundsChecks !== undefined) {
    if (typeof opts.boundsChecks !== 'boolean') throw new ConfigError(`acquireNodeDevice: boundsChecks takes true or false, got ${JSON.stringify(opts.boundsChecks)}`);
    return opts.boundsChecks;
  }
  const value = process.env[BOUNDS_CHECKS_VARIABLE];
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new ConfigError(`${BOUNDS_CHECKS_VARIABLE}=${value}: set it to 0 (shaders without WebGPU's bounds checks) or 1 (with them, the default), or unset it`);
}

export async function acquireNodeDevice(opts: NodeDeviceOptions = {}): Promise<AcquiredDevice> {
  const boundsChecks = boundsChecksWanted(opts);
  const flags = boundsChecks ? DAWN_FLAGS : [...DAWN_FLAGS, UNCHECKED_FLAG];
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a Vulkan loader warning on headless machines
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new NoWebGPUError(`the 'webgpu' npm package (Dawn for Node) failed to load: ${(e as Error).message}. Run \`npm ci\`.`);
  }
  Object.assign(globalThis, mod.globals);
  const create = mod.create as unknown as (opts: string[]) => Gpu;

  const named = namedVulkanDrivers();
  const missing = named.paths.filter((f) => !existsSync(f));
  if (named.variable && missing.length === named.paths.length) {
    // Checked here because the Vulkan loader's own complaint is a native warning and a stack line.
    throw new NoWebGPUError(
      `${named.variable} names ${missing.join(', ')}, which does not exist; point it at a Vulkan ICD file ` +
        `(SwiftShader's is ${SWIFTSHADER_HINT}), or unset it to let webgpu-vae find a driver`,
    );
  }
  let note: string | undefined;
  let gpu = create(flags);
  // On a machine with no GPU device node the system Vulkan drivers can only be CPU ones (Debian's
  // lavapipe is too old for Dawn and prints a warning), so go straight to SwiftShader there.
  const skipSystem = process.env.WEBGPU_VAE_FORCE_SWIFTSHADER === '1' || (!hasGpuDeviceNode() && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && findSwiftShaderIcds().length > 0);
  let adapter = skipSystem ? null : await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    for (const icd of findSwiftShaderIcds()) {
      process.env.VK_ICD_FILENAMES = icd; // read by the Vulkan loader when the next instance starts
      gpu = create(flags);
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter) {
        note = `no GPU found; using the SwiftShader Vulkan driver (CPU) from ${icd}`;
        break;
      }
    }
  }
  if (!adapter && named.variable) {
    throw new NoWebGPUError(
      `no WebGPU adapter found with the Vulkan driver ${named.variable} names (${named.paths.join(', ')}); ` +
        `unset ${named.variable} to let webgpu-vae find a driver, or point it at another ICD file (SwiftShader's is ${SWIFTSHADER_HINT})`,
    );
  }
  if (!adapter) {
    throw new NoWebGPUError(
      'no WebGPU adapter found: no Vulkan GPU driver and no SwiftShader driver. On Debian run ' +
        '`apt-get install -y chromium libvulkan1` (Chromium ships SwiftShader), or set VK_ICD_FILENAMES to a Vulkan ICD file.',
    );
  }
  const device = await deviceFromAdapter(adapter);
  instanceOf.set(device, gpu);
  if (!boundsChecks) UNCHECKED_DEVICES.add(device);
  if (note) opts.log?.(note);
  return { device, adapter: summarizeAdapter(adapter.info, adapter.features), owned: true, note, ...(boundsChecks ? {} : { boundsChecks: false }) };
}

/** Where Debian's Chromium puts SwiftShader's ICD file, named in the messages about a driver variable. */
const SWIFTSHADER_HINT = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The Vulkan driver files the user named (VK_DRIVER_FILES, or the older VK_ICD_FILENAMES), if any. */
function namedVulkanDrivers(): { variable: string | null; paths: string[] } {
  for (const variable of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES']) {
    const value = process.env[variable];
    if (value) return { variable, paths: value.split(':').filter((f) => f !== '') };
  }
  return { variable: null, paths: [] };
}

/**
 * Nothing to release: the Dawn instances live as long as their devices, and neither keeps Node
 * running. Kept so that code written for earlier versions, which had to call it, still runs.
 */
export function releaseNodeGpu(): void {}
