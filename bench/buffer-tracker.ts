// Counts the GPU buffers alive on one device and their bytes, whoever creates them: the model's
// arena, the loss ring's staging buffers, the one-off read-back buffers. `device.createBuffer` is
// wrapped on the device object itself (so other devices are untouched) and `GPUBuffer.destroy` on
// its prototype (found from the first buffer made, as the classes are not globals in Dawn).
// A buffer that is dropped without destroy() stays counted: the soak treats it as a leak, which
// is what it is until the garbage collector happens to run.

export interface BufferTracker {
  readonly live: number;
  readonly bytes: number;
  uninstall(): void;
}

export function trackBuffers(device: GPUDevice): BufferTracker {
  const live = new Map<GPUBuffer, number>();
  let bytes = 0;
  const create = device.createBuffer;
  const ownMethod = Object.prototype.hasOwnProperty.call(device, 'createBuffer');
  let restoreDestroy: (() => void) | null = null;

  const wrapDestroy = (buffer: GPUBuffer) => {
    let proto: object | null = Object.getPrototypeOf(buffer);
    while (proto && !Object.prototype.hasOwnProperty.call(proto, 'destroy')) proto = Object.getPrototypeOf(proto);
    if (!proto) throw new Error('GPUBuffer.destroy not found on the buffer prototype chain; cannot count buffers');
    const owner = proto as { destroy(this: GPUBuffer): void };
    const destroy = owner.destroy;
    owner.destroy = function (this: GPUBuffer) {
      const size = live.get(this);
      if (size !== undefined) {
        live.delete(this);
        bytes -= size;
      }
      return destroy.call(this);
    };
    restoreDestroy = () => { owner.destroy = destroy; };
  };

  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = create.call(device, descriptor);
    if (!restoreDestroy) wrapDestroy(buffer);
    live.set(buffer, buffer.size);
    bytes += buffer.size;
    return buffer;
  };

  return {
    get live() { return live.size; },
    get bytes() { return bytes; },
    uninstall() {
      if (ownMethod) device.createBuffer = create;
      else delete (device as { createBuffer?: unknown }).createBuffer;
      restoreDestroy?.();
      restoreDestroy = null;
    },
  };
}
