// Checks made before a kernel is bound, so that a mistake is refused at once with a message that
// names what to change, where WebGPU would report it later or not at all: the device's limits
// (grid size, workgroup size and memory, storage buffers per stage, bytes per binding) on every
// dispatch; the usage, offset alignment, size (the exact size, for a binding a kernel counts its
// work from) and per-binding limit of the buffers an app hands `webgpu-vae/kernels`; and a device
// that is gone.
// `bind()` in pipelines.ts runs them; graph.ts also runs the limit checks before it places memory
// or compiles anything.
import type { Kernel } from '../../shaders/common';
import { nearestName } from '../edit-distance';
import { ConfigError, DeviceLimitError, GpuError, kindOfValue, shown } from '../errors';
import type { BufferSlice } from './buffers';
import { isDeviceGone, whyDeviceGone } from './device';
import { BufferUsage } from './webgpu-flags';

/** WGSL source with its comments blanked: line comments, and block comments, which nest in WGSL. */
export function withoutComments(code: string): string {
  let out = '', depth = 0;
  for (let i = 0; i < code.length; i++) {
    const two = code.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      const end = code.indexOf('\n', i);
      i = end < 0 ? code.length : end - 1;
      out += ' ';
    } else if (two === '/*') {
      depth++;
      i++;
      out += ' ';
    } else if (depth > 0 && two === '*/') {
      depth--;
      i++;
    } else if (depth === 0) {
      out += code[i];
    }
  }
  return out;
}

/**
 * The sizes in each of a kernel's `@workgroup_size(x, y, z)` attributes (one per entry point),
 * comments left out; an attribute whose sizes are not literals (an override constant, an
 * expression) is skipped, so nothing is refused on a guess. The factories write numbers there.
 * `text` is the code without its comments, where the caller has it.
 */
export function workgroupSizesOf(code: string, text = withoutComments(code)): [number, number, number][] {
  const found: [number, number, number][] = [];
  for (const m of text.matchAll(/@workgroup_size\s*\(([^)]*)\)/g)) {
    const sizes = m[1].split(',').map((v) => v.trim()).filter((v) => v !== '').map((v) => (/^\d+[iu]?$/.test(v) ? parseInt(v, 10) : NaN));
    if (sizes.length >= 1 && sizes.length <= 3 && !sizes.some(Number.isNaN)) found.push([sizes[0], sizes[1] ?? 1, sizes[2] ?? 1]);
  }
  return found;
}

/** Size and alignment in bytes of the WGSL types workgroup variables take here (scalars, atomics, vectors); null for any other. */
function wgslLayout(type: string): { size: number; align: number } | null {
  const t = type.replace(/\s+/g, '');
  if (/^(f32|i32|u32|atomic<(u32|i32)>)$/.test(t)) return { size: 4, align: 4 };
  if (t === 'f16') return { size: 2, align: 2 };
  const vec = /^vec([234])(?:<(f32|i32|u32|f16)>|([fiuh]))$/.exec(t);
  if (!vec) return null;
  const n = Number(vec[1]), scalar = vec[2] === 'f16' || vec[3] === 'h' ? 2 : 4;
  return { size: n * scalar, align: (n === 2 ? 2 : 4) * scalar }; // a vec3 aligns as a vec4
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * Bytes of workgroup memory a kernel's WGSL declares, counted as Tint (Dawn, Chromium) counts them
 * against maxComputeWorkgroupStorageSize: each `var<workgroup>` rounded up to 16 bytes, an array
 * of N elements N times its element's stride. Null where a declaration's type or length is not
 * one this reads (a matrix, a struct, an override-sized array), so nothing is refused on a guess.
 * `text` as for workgroupSizesOf.
 */
export function workgroupStorageOf(code: string, text = withoutComments(code)): number | null {
  let total = 0;
  for (const m of text.matchAll(/var\s*<\s*workgroup\s*>\s*[A-Za-z_]\w*\s*:\s*([^;=]+)[;=]/g)) {
    const type = m[1].trim();
    const array = /^array\s*<\s*(.+?)\s*,\s*(\d+)[iu]?\s*>$/.exec(type);
    const element = wgslLayout(array ? array[1] : type);
    if (!element) return null;
    const bytes = array ? Number(array[2]) * roundUp(element.size, element.align) : element.size;
    total += roundUp(roundUp(bytes, element.align), 16);
  }
  return total;
}

/** The fix for a workgroup past the device's limits: the adapter usually allows more than the device asked for. */
const WORKGROUP_FIX =
  'request the device with requiredLimits: { maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX, ' +
  'maxComputeWorkgroupSizeY: adapter.limits.maxComputeWorkgroupSizeY } (acquireNodeDevice and acquireBrowserDevice do); ' +
  "an adapter that offers less (WebGPU's compatibility mode allows 128 invocations) cannot run this kernel";

/** An app's own kernel past the grid limit: what a model's user would not change, an app's author can. */
const APP_GRID_FIX = 'spread the workgroups over x, y and z (grid1D from webgpu-vae/kernels folds a long 1-D grid so, and the kernel finds its place from workgroup_id and num_workgroups), or use a smaller batch';

/**
 * Checks what a kernel asks of the device whatever buffers it is given: its workgroup's size and
 * memory, its grid, and how many storage buffers it binds (WebGPU's default allows 8; a device
 * that asks for less than its adapter offers would otherwise fail later, in a pipeline layout or
 * shader compilation error that names no limit, or not in these words on every implementation).
 */
export function checkKernelLimits(kernel: Kernel, limits: GPUSupportedLimits, where = kernel.name, forApp = false): void {
  const text = withoutComments(kernel.code);
  for (const size of workgroupSizesOf(kernel.code, text)) {
    const axes = [['X', limits.maxComputeWorkgroupSizeX], ['Y', limits.maxComputeWorkgroupSizeY], ['Z', limits.maxComputeWorkgroupSizeZ]] as const;
    axes.forEach(([axis, max], i) => {
      if (max !== undefined && size[i] > max) {
        throw new DeviceLimitError(`kernel ${kernel.name} in ${where} has workgroups ${size[i]} wide in ${axis} but this device allows ${max} (maxComputeWorkgroupSize${axis}); ${WORKGROUP_FIX}`);
      }
    });
    const invocations = size[0] * size[1] * size[2];
    if (limits.maxComputeInvocationsPerWorkgroup !== undefined && invocations > limits.maxComputeInvocationsPerWorkgroup) {
      throw new DeviceLimitError(`kernel ${kernel.name} in ${where} has workgroups of ${invocations} invocations but this device allows ${limits.maxComputeInvocationsPerWorkgroup} (maxComputeInvocationsPerWorkgroup); ${WORKGROUP_FIX}`);
    }
  }
  // Dawn refuses this only as a compile error, and wgpu (Deno, Firefox) not at all: the pipeline is
  // made, and a GPU with less shared memory than the kernel declares fails or misbehaves later.
  const shared = workgroupStorageOf(kernel.code, text);
  if (shared !== null && limits.maxComputeWorkgroupStorageSize !== undefined && shared > limits.maxComputeWorkgroupStorageSize) {
    throw new DeviceLimitError(
      `kernel ${kernel.name} in ${where} declares ${shared} bytes of workgroup memory but this device allows ${limits.maxComputeWorkgroupStorageSize} (maxComputeWorkgroupStorageSize); ` +
        'request the device with requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize } (acquireNodeDevice and acquireBrowserDevice do), ' +
        "or give the kernel a smaller tile (a tiled matmul's TILE_K, or its block TM x WGY by TN x WGX)",
    );
  }
  const most = Math.max(...kernel.workgroups);
  if (most > limits.maxComputeWorkgroupsPerDimension) {
    throw new DeviceLimitError(`kernel ${kernel.name} in ${where} needs ${most} workgroups in one dimension but this device's maxComputeWorkgroupsPerDimension is ${limits.maxComputeWorkgroupsPerDimension}; ${kernel.gridLimitFix ?? (forApp ? APP_GRID_FIX : 'use a smaller batch')}`);
  }
  const storage = kernel.bindings.filter((b) => b.kind !== 'uniform').length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new DeviceLimitError(
      `kernel ${kernel.name} in ${where} binds ${storage} storage buffers but this device allows ${limits.maxStorageBuffersPerShaderStage} per shader stage (maxStorageBuffersPerShaderStage); ` +
        'request the device with requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } (acquireNodeDevice and acquireBrowserDevice do)',
    );
  }
}

/** Checks a dispatch's grid and bindings against the device's limits, naming what to change. */
export function checkBindingLimits(kernel: Kernel, resources: Record<string, BufferSlice>, limits: GPUSupportedLimits, where = kernel.name, forApp = false): void {
  checkKernelLimits(kernel, limits, where, forApp);
  checkBindingSizes(kernel, resources, limits, where);
}

/** Checks each buffer bound against the device's per-binding limits. */
export function checkBindingSizes(kernel: Kernel, resources: Record<string, BufferSlice>, limits: GPUSupportedLimits, where = kernel.name): void {
  for (const b of kernel.bindings) {
    const s = resources[b.name];
    const bytes = s.size ?? s.buffer.size - (s.offset ?? 0);
    const max = b.kind === 'uniform' ? limits.maxUniformBufferBindingSize : limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new DeviceLimitError(`kernel ${kernel.name} in ${where} binds ${b.name} of ${bytes} bytes but this device allows ${max} per binding (${b.kind === 'uniform' ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize'}); use a smaller batch or model`);
    }
  }
}

/**
 * The library's own bindings against what each kernel reads for its shape (its `minBytes`): the
 * planner sizes them, and this holds it to that, so that no kernel of a model reads or writes past
 * a binding even where WebGPU's bounds checks are off (acquireNodeDevice's boundsChecks), where it
 * would meet other memory instead of a clamped element. A failure is the library's bug.
 */
export function checkLibraryBindingBytes(kernel: Kernel, resources: Record<string, BufferSlice>, where = kernel.name): void {
  for (const b of kernel.bindings) {
    const need = kernel.minBytes?.[b.name];
    if (need === undefined) continue;
    const s = resources[b.name];
    const bytes = s.size ?? s.buffer.size - (s.offset ?? 0);
    if (bytes < need) {
      throw new Error(`kernel ${kernel.name} in ${where}: binding '${b.name}' holds ${bytes} bytes, but the kernel reads up to ${need} for its shape; this is a bug in webgpu-vae's planning: please report it with the model's configuration`);
    }
  }
}

/** The GPUBufferUsage flags set in `usage`, by name, for messages. */
function usageNames(usage: number): string {
  const names = Object.entries(BufferUsage).filter(([, bit]) => usage & bit).map(([name]) => name);
  return names.length ? names.join(' | ') : `usage ${usage}`;
}

/**
 * The slices an app's `bind(resources)` names, one per binding of `kernel`, refused with a
 * ConfigError when one is missing, unknown (with the nearest binding name) or not a GPUBuffer or
 * `{ buffer, offset?, size? }`. `fallback` supplies the buffers the library keeps for a kernel's
 * constants (a shape-generic kernel's `dims`).
 */
export function appBindingSlices(kernel: Kernel, resources: unknown, fallback: (name: string) => GPUBuffer | undefined): Record<string, BufferSlice> {
  const names = kernel.bindings.map((b) => b.name);
  const listed = `kernel ${kernel.name} binds ${names.map((n) => `'${n}'`).join(', ')}`;
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) {
    throw new ConfigError(`bind() takes an object of buffers by binding name, got ${kindOfValue(resources)}; ${listed}`);
  }
  const given = resources as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (names.includes(key)) continue;
    const near = nearestName(key, names);
    throw new ConfigError(`kernel ${kernel.name} has no binding named '${key}'${near ? ` (did you mean '${near}'?)` : ''}; ${listed}`);
  }
  const slices: Record<string, BufferSlice> = {};
  for (const name of names) {
    const r = given[name] ?? fallback(name);
    if (r === undefined || r === null) throw new ConfigError(`kernel ${kernel.name} needs a buffer for '${name}'; ${listed}`);
    if (ArrayBuffer.isView(r) || r instanceof ArrayBuffer) {
      throw new ConfigError(`kernel ${kernel.name}: binding '${name}' must be a GPUBuffer or { buffer: GPUBuffer, offset?, size? }, got ${kindOfValue(r)}, which lives on the CPU; create a GPUBuffer and fill it with device.queue.writeBuffer`);
    }
    const buffer = (typeof r === 'object' && 'buffer' in r ? (r as BufferSlice).buffer : r) as GPUBuffer;
    if (typeof buffer !== 'object' || buffer === null || typeof buffer.size !== 'number' || typeof buffer.destroy !== 'function') {
      throw new ConfigError(`kernel ${kernel.name}: binding '${name}' must be a GPUBuffer or { buffer: GPUBuffer, offset?, size? }, got ${kindOfValue(buffer)}`);
    }
    slices[name] = r === buffer ? { buffer } : (r as BufferSlice);
  }
  return slices;
}

/**
 * What an app hands `bind()`, checked against the kernel before WebGPU sees it: usage, offset
 * alignment and size of each binding. WebGPU would report the first two later, as an uncaptured
 * error on the device, and the third not at all: a short buffer gives wrong numbers, silently, and
 * so does a long one where the kernel counts its work from the binding (`exactBindings`).
 */
export function checkAppBindings(kernel: Kernel, resources: Record<string, BufferSlice>, limits: GPUSupportedLimits): void {
  for (const b of kernel.bindings) {
    const { buffer, offset = 0, size } = resources[b.name];
    const uniform = b.kind === 'uniform';
    const at = `kernel ${kernel.name}: binding '${b.name}'`;
    // `usage` is in the WebGPU spec; an implementation without it is not checked here.
    if (typeof buffer.usage === 'number') {
      const need = uniform ? BufferUsage.UNIFORM : BufferUsage.STORAGE;
      if (!(buffer.usage & need)) {
        throw new ConfigError(`${at} is a ${uniform ? 'uniform' : 'storage'} binding and needs a buffer created with GPUBufferUsage.${uniform ? 'UNIFORM' : 'STORAGE'}; this one has ${usageNames(buffer.usage)}`);
      }
    }
    const align = uniform ? limits.minUniformBufferOffsetAlignment : limits.minStorageBufferOffsetAlignment;
    if (!(Number.isInteger(offset) && offset >= 0 && offset % align === 0)) {
      throw new ConfigError(`${at} has offset ${offset}, which is not a multiple of this device's ${uniform ? 'minUniformBufferOffsetAlignment' : 'minStorageBufferOffsetAlignment'} (${align})`);
    }
    if (offset > buffer.size) throw new ConfigError(`${at} has offset ${offset} past the end of its buffer (${buffer.size} bytes)`);
    if (size !== undefined && !(Number.isInteger(size) && size >= 0)) {
      throw new ConfigError(`${at} has size ${shown(size)}; a slice's size is a whole number of bytes, or left out for the rest of the buffer`);
    }
    if (size !== undefined && offset + size > buffer.size) {
      throw new ConfigError(`${at} is the slice [${offset}, ${offset + size}) of a buffer of ${buffer.size} bytes, which runs past its end; give a size of at most ${buffer.size - offset}`);
    }
    const given = size ?? buffer.size - offset;
    const slice = size === undefined ? (offset ? `a buffer of ${buffer.size} bytes from offset ${offset}` : 'the buffer') : `a slice of size ${size}`;
    // WebGPU refuses these only later, as an uncaptured error on the device.
    if (!uniform && given % 4 !== 0) {
      const bound = size === undefined && !offset ? `a buffer of ${buffer.size} bytes` : slice;
      throw new ConfigError(`${at} binds ${given} bytes (${bound}), which is not a multiple of 4: a storage binding holds whole 4-byte values; give a size that is, e.g. ${Math.floor(given / 4) * 4}`);
    }
    const need = kernel.minBytes?.[b.name];
    if (need !== undefined && given < need) {
      throw new ConfigError(`${at} needs at least ${need} bytes for this shape, but ${given} were given (${slice})`);
    }
    // A sizedByBinding kernel reads its count from this binding's length: longer is wrong, silently.
    if (need !== undefined && given !== need && kernel.exactBindings?.includes(b.name)) {
      throw new ConfigError(
        `${at} binds ${given} bytes (${slice}), but the kernel (sizedByBinding) counts its work from this binding's length, so it must be exactly ${need} bytes, ` +
          `the size its parameters give; a longer binding gives wrong results. Bind a slice of exactly that size ({ buffer, offset, size: ${need} }), or build the kernel for the size you bind`,
      );
    }
    // Over the per-binding limit: told as a kernel user's fix (checkBindingSizes gives the model's).
    const limit = uniform ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize';
    if (given > limits[limit]) {
      const fix = need !== undefined && need > limits[limit]
        ? `this shape alone needs ${need} bytes there: build the kernel for fewer rows and split the work over several dispatches`
        : `bind a slice of it ({ buffer, offset, size }${need !== undefined ? `; the kernel reads ${need} bytes` : ''}), or split the work over several dispatches`;
      throw new DeviceLimitError(
        `${at} binds ${given} bytes but this device allows ${limits[limit]} per ${uniform ? 'uniform' : 'storage'} binding (${limit}); ${fix}; ` +
          `or, where the adapter allows more, request the device with requiredLimits: { ${limit}: adapter.limits.${limit} } (acquire*Device() asks for the adapter's most)`,
      );
    }
  }
}

/** Throws the library's device-lost error for a device known to be lost or destroyed (see device.ts). */
export function refuseGoneDevice(device: GPUDevice, what: string): void {
  if (isDeviceGone(device)) {
    const why = whyDeviceGone(device);
    throw new GpuError(`${what}: this GPU device is gone (${why ?? 'destroyed or lost'}); compile and bind the kernel again on a new device`, what, 'device-lost');
  }
}

/**
 * Why `kernel` is not a kernel (a factory's result), or null where it is one: a factory passed
 * uncalled (`compile(device, matmul)`) or an undefined one would otherwise fail deep inside with
 * a TypeError naming neither.
 */
export function notAKernel(kernel: unknown, where: string): string | null {
  const k = kernel as Partial<Kernel> | null;
  if (k && typeof k === 'object' && typeof k.name === 'string' && typeof k.code === 'string' && Array.isArray(k.bindings) && Array.isArray(k.workgroups)) return null;
  const got = typeof kernel === 'function' ? `${shown(kernel)}: a factory, to call with its parameters` : shown(kernel);
  return `${where} must be a kernel, what a factory returns (e.g. matmul({ M: 64, N: 64, K: 64 })); got ${got}`;
}

/** Throws notAKernel's ConfigError where `kernel` is not a kernel. */
export function checkKernelArgument(kernel: unknown, where: string): asserts kernel is Kernel {
  const why = notAKernel(kernel, where);
  if (why) throw new ConfigError(why);
}
