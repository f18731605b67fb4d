// Counts queue submits and compute dispatches by wrapping `GPUQueue.prototype.submit` and
// `GPUComputePassEncoder.prototype.dispatchWorkgroups`. The prototypes are found from live objects
// of the given device (so this works for Dawn in Node, where the classes are not globals, and in
// browsers), and the wrap covers every device of the same WebGPU implementation, TF.js's included.
// Benchmarks run one at a time, so a global count per measured window is what we want.

type AnyFn = (...args: unknown[]) => unknown;

export interface GpuCounts {
  submits: number;
  dispatches: number;
}

export interface GpuCounter {
  /** False where the methods could not be wrapped (then counts stay 0: report "n/a"). */
  readonly active: boolean;
  reset(): void;
  read(): GpuCounts;
  uninstall(): void;
}

const counts: GpuCounts = { submits: 0, dispatches: 0 };
let installs = 0;
let undo: (() => void) | null = null;

function wrapMethod(proto: object | null, name: string, onCall: () => void): (() => void) | null {
  if (!proto) return null;
  const desc = Object.getOwnPropertyDescriptor(proto, name);
  if (!desc || typeof desc.value !== 'function' || !desc.writable && !desc.configurable) return null;
  const original = desc.value as AnyFn;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    onCall();
    return original.apply(this, args);
  };
  try {
    Object.defineProperty(proto, name, { ...desc, value: wrapped });
  } catch {
    return null;
  }
  if ((proto as Record<string, unknown>)[name] !== wrapped) return null;
  return () => Object.defineProperty(proto, name, desc);
}

/** Walks up the prototype chain to the object that owns `name` (Dawn may add intermediate classes). */
function ownerOf(obj: object, name: string): object | null {
  let p: object | null = Object.getPrototypeOf(obj);
  while (p && !Object.prototype.hasOwnProperty.call(p, name)) p = Object.getPrototypeOf(p);
  return p;
}

/** Installs the wrappers once (reference counted); `device` supplies the prototypes. */
export function installCounters(device: GPUDevice): GpuCounter {
  if (!undo) {
    const enc = device.createCommandEncoder({ label: 'bench:probe' });
    const pass = enc.beginComputePass();
    const passProto = ownerOf(pass, 'dispatchWorkgroups');
    pass.end();
    enc.finish(); // never submitted
    const undoSubmit = wrapMethod(ownerOf(device.queue, 'submit'), 'submit', () => counts.submits++);
    const undoDispatch = wrapMethod(passProto, 'dispatchWorkgroups', () => counts.dispatches++);
    if (undoSubmit && undoDispatch) {
      undo = () => { undoSubmit(); undoDispatch(); };
    } else {
      undoSubmit?.();
      undoDispatch?.();
    }
  }
  const active = undo !== null;
  if (active) installs++;
  let removed = false;
  return {
    active,
    reset() {
      counts.submits = 0;
      counts.dispatches = 0;
    },
    read: () => ({ ...counts }),
    uninstall() {
      if (!active || removed) return;
      removed = true;
      if (--installs === 0 && undo) {
        undo();
        undo = null;
      }
    },
  };
}
