// Buffers the model lends to the caller (the *ToBuffer results, and the parameters and gradients
// of vae.parameterBuffer and vae.gradientBuffer). They stay the model's: the caller binds them
// read-only, and the model frees them on its own destroy(). A caller who destroys or maps one would
// break the model's next draw or step with a bare WebGPU error far from the cause, so those two
// calls are refused where they are made, and the buffer is left whole. The model's own frees go
// around the guard (freeBuffer).
import { ConfigError } from '../errors';

const lentBy = new WeakMap<GPUBuffer, string>();

/**
 * Marks `buffer` as lent to the caller; repeated lending is a no-op. `origin` and `rewrites` finish
 * the refusal's sentences: 'came from vae.sampleToBuffer()', 'draws into it again at ...'.
 */
export function lendBuffer(buffer: GPUBuffer, origin: string, rewrites: string): GPUBuffer {
  if (lentBy.has(buffer)) return buffer;
  lentBy.set(buffer, origin);
  // The model makes these STORAGE | COPY_SRC | COPY_DST (buffers.ts): no vertex or uniform binding.
  const refuse = (what: string) => new ConfigError(
    `${what}: this buffer ${origin} and belongs to the model, which ${rewrites}; bind it read-only ` +
    '(a read-only storage binding, in any shader stage, or a copy source) and leave it alone: vae.destroy() frees it. ' +
    'To keep its contents, copy them into a buffer you create');
  Object.defineProperty(buffer, 'destroy', { configurable: true, value: () => { throw refuse('destroy()'); } });
  Object.defineProperty(buffer, 'mapAsync', { configurable: true, value: () => Promise.reject(refuse('mapAsync()')) });
  return buffer;
}

/** Destroys a buffer the model created, lent or not. */
export function freeBuffer(buffer: GPUBuffer): void {
  if (lentBy.has(buffer)) {
    lentBy.delete(buffer);
    delete (buffer as { destroy?: unknown }).destroy;
    delete (buffer as { mapAsync?: unknown }).mapAsync;
  }
  buffer.destroy();
}
