// Buffer bookkeeping: a model's buffers and its graphs' go through one arena, so the bytes
// allocated can be reported and `destroy()` frees exactly what was created here, nothing else.
// Outside it (docs/ARCHITECTURE.md, "Memory planning"): the loss ring's staging buffers, which
// LossRing destroys itself, readBuffer's staging buffer, the autotuners' scratch buffers, and the
// constants of a graph built without an arena.

import { ourLabel } from './labels';
import { mapForReading } from './map-read';
import { freeBuffer } from './handed-out';
import { DeviceLimitError } from '../errors';
import { BufferUsage } from './webgpu-flags';

export const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export interface BufferSlice {
  buffer: GPUBuffer;
  /** Byte offset; must be a multiple of the device's minStorageBufferOffsetAlignment (256 by default). */
  offset?: number;
  /** Byte size; defaults to the rest of the buffer. */
  size?: number;
}

/** "1.4 MiB", "25.0 KiB", "12 bytes": sizes in refusals, readable at every scale. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * Thrown before allocating when a plan would take the arena past its memory budget: `needed` more
 * bytes were asked for while `inUse` of `budget` were already taken. Nothing was allocated for it.
 */
export class MemoryBudgetError extends DeviceLimitError {
  constructor(message: string, readonly what: string, readonly needed: number, readonly inUse: number, readonly budget: number) {
    super(message);
  }
}

/** The size WebGPU storage needs for `byteLength` bytes: a multiple of 4, at least 4. */
export const bufferSize = (byteLength: number) => Math.max(4, Math.ceil(byteLength / 4) * 4);

export class BufferArena {
  private readonly buffers: GPUBuffer[] = [];
  private bytes = 0;
  /**
   * The most bytes this arena may hold at once. WebGPU does not say how much memory a device has,
   * so the owner sets it (VaeOptions.memoryBudget; the CLI's --max-gpu-memory); plans are checked
   * against it as a whole before any of their buffers is created.
   */
  budget = Infinity;

  constructor(readonly device: GPUDevice, readonly labelPrefix = 'webgpu-vae') {}

  /** Refuses a buffer larger than the device allows for its usage. */
  checkLimit(label: string, byteLength: number, usage: GPUBufferUsageFlags = STORAGE): void {
    const limits = this.device.limits;
    const [limit, name] = usage & 0x80 ? [limits.maxStorageBufferBindingSize, 'maxStorageBufferBindingSize'] : [limits.maxBufferSize, 'maxBufferSize'];
    if (byteLength > limit) {
      // The parameters and their optimizer state do not shrink with the batch.
      const smaller = PARAMETER_BUFFERS.includes(label) ? 'use a smaller model' : 'use a smaller batch or model';
      throw new DeviceLimitError(`buffer ${label} needs ${byteLength} bytes but this device's ${name} is ${limit}; ${smaller}${MORE_LIMITS_ADVICE}`);
    }
  }

  /** Refuses, before anything is allocated, `bytes` more for `what` when they would exceed the budget. */
  reserve(what: string, bytes: number, fix = 'use a smaller batch or model'): void {
    if (this.bytes + bytes <= this.budget) return;
    throw new MemoryBudgetError(
      `${what} needs ${formatBytes(bytes)} of GPU memory, but ${formatBytes(this.bytes)} of the ${formatBytes(this.budget)} budget are in use; ` +
        `${fix}, or raise the budget (memoryBudget; --max-gpu-memory in the CLI)`,
      what, bytes, this.bytes, this.budget,
    );
  }

  /** A zero-initialised buffer; sizes are rounded up to 4 bytes as WebGPU requires for storage. */
  create(label: string, byteLength: number, usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
    const size = bufferSize(byteLength);
    this.checkLimit(label, size, usage);
    this.reserve(`buffer ${label}`, size);
    const buffer = this.device.createBuffer({ label: ourLabel(`${this.labelPrefix}:${label}`), size, usage });
    this.buffers.push(buffer);
    this.bytes += size;
    return buffer;
  }

  /** Creates a buffer holding `data`. */
  upload(label: string, data: ArrayBufferView, usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
    const buffer = this.create(label, data.byteLength, usage | 0x8 /* COPY_DST */);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) writeData(this.device, buffer, 0, bytes);
    else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      writeData(this.device, buffer, 0, padded);
    }
    return buffer;
  }

  get allocatedBytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.buffers.length;
  }

  /** Whether `buffer` is one of this arena's and not yet released or destroyed. */
  holds(buffer: GPUBuffer): boolean {
    return this.buffers.includes(buffer);
  }

  /** Destroys one buffer this arena created (e.g. a dataset being replaced). */
  release(buffer: GPUBuffer): void {
    const i = this.buffers.indexOf(buffer);
    if (i < 0) return;
    this.buffers.splice(i, 1);
    this.bytes -= buffer.size;
    freeBuffer(buffer);
  }

  destroyAll(): void {
    for (const b of this.buffers) freeBuffer(b);
    this.buffers.length = 0;
    this.bytes = 0;
  }
}

/**
 * The end of a buffer-size refusal for an app's own device. The command line and the demo page
 * drop it (`withoutLimitsAdvice`): their devices already ask for the adapter's most.
 */
export const MORE_LIMITS_ADVICE = ', or, where the adapter allows more, request the device with requiredLimits: ' +
  "{ maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } (acquire*Device() asks for the adapter's most)";
/** The rewrite that drops MORE_LIMITS_ADVICE from a message. */
export const withoutLimitsAdvice: [RegExp, string] = [new RegExp(MORE_LIMITS_ADVICE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), ''];

/** The model's buffers whose size is the parameter count's, whatever the batch. */
const PARAMETER_BUFFERS = ['params', 'grads', 'adam.m', 'adam.v'];

/** Copies a buffer range to the CPU (one staging buffer, one wait). Not for per-step use. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, offset = 0, size = src.size - offset): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ label: ourLabel('read-staging'), size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: ourLabel('read') });
  enc.copyBufferToBuffer(src, offset, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await mapForReading(device, staging);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readFloats(device: GPUDevice, src: GPUBuffer, offsetFloats = 0, count?: number): Promise<Float32Array<ArrayBuffer>> {
  const size = count === undefined ? src.size - offsetFloats * 4 : count * 4;
  return new Float32Array(await readBuffer(device, src, offsetFloats * 4, size));
}

/** queue.writeBuffer for any typed array (TypeScript's DOM types reject SharedArrayBuffer-backed views). */
export function writeData(device: GPUDevice, buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
  device.queue.writeBuffer(buffer, offset, data as ArrayBufferView<ArrayBuffer>);
}
