// Waiting for the GPU without spinning the CPU.
//
// In Node, the `webgpu` package (dawn.node) resolves a pending mapAsync, onSubmittedWorkDone or
// createComputePipelineAsync by polling Dawn from a native callback that it reschedules with the
// global setImmediate on every turn of the event loop, so the main thread runs at 100% for as long
// as such a promise is pending. On a software adapter (SwiftShader runs shaders on the CPU's cores)
// that takes a core away from the shaders: on 2 cores, the default model's training step took
// about 1.7x longer with the read-back awaited plainly than through gentleWait. Compiles run on one
// Dawn thread: awaited plainly, 24 tiled matmul pipelines kept 1.9 cores busy for 13 s; through
// gentleWait, 1.1 cores for the same 13 s, leaving a core to other work.

/** Milliseconds between dawn.node's polls while `gentleWait` is waiting. */
export const GENTLE_POLL_MS = 1;

/** True where a pending GPU promise spins the CPU: Node (dawn.node), not browsers or Deno. */
export function gpuWaitSpins(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; document?: unknown; importScripts?: unknown };
  return !!g.process?.versions?.node && g.Deno === undefined && g.document === undefined && g.importScripts === undefined;
}

let depth = 0;
let original: typeof setImmediate | null = null;

/** Native callbacks (dawn.node's poll; also bound functions) print as `{ [native code] }`. */
const isNative = (fn: unknown) => typeof fn === 'function' && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));

/**
 * Awaits `wait()` (a GPU promise) without letting dawn.node spin: while it is pending, native
 * callbacks given to setImmediate run every GENTLE_POLL_MS ms through setTimeout instead. Other
 * callbacks are scheduled as before, and the global is restored when the last of any overlapping
 * waits ends. Outside Node this is a plain `await wait()`.
 */
export async function gentleWait<T>(wait: () => Promise<T>): Promise<T> {
  if (!gpuWaitSpins() || typeof globalThis.setImmediate !== 'function') return wait();
  if (depth++ === 0) {
    const plain = (original = globalThis.setImmediate);
    const throttled = (fn: (...args: unknown[]) => void, ...args: unknown[]) =>
      isNative(fn) ? setTimeout(fn, GENTLE_POLL_MS, ...args) : plain(fn, ...args);
    globalThis.setImmediate = Object.assign(throttled, plain) as unknown as typeof setImmediate;
  }
  try {
    return await wait();
  } finally {
    if (--depth === 0 && original) {
      globalThis.setImmediate = original;
      original = null;
    }
  }
}
