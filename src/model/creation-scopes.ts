// Out-of-memory errors while a model is being created: each allocation is scoped on its own, so
// that creation can refuse a model the device cannot hold (VAE.create) without taking in, or
// popping, error scopes of an app that shares the device.
import { BufferArena } from '../gpu/buffers';

/**
 * The device's out-of-memory errors while a model is being created, each allocation in an error
 * scope of its own, pushed and popped around that one allocation with no await between. A scope
 * held open across awaits would, on a device shared with the app, take in the app's errors or be
 * popped by the app (and ours pop the app's scope) in place of each other.
 */
export class OutOfMemoryScopes {
  private readonly results: Promise<GPUError | null>[] = [];
  private open = true;

  constructor(private readonly device: GPUDevice) {}

  /** Runs `allocate` (synchronous) in a scope of its own while creation lasts. */
  around<T>(allocate: () => T): T {
    if (!this.open) return allocate();
    this.device.pushErrorScope('out-of-memory');
    try {
      return allocate();
    } finally {
      // Caught here, so a creation that fails for another reason leaves no rejection unhandled.
      this.results.push(this.device.popErrorScope().catch(() => null));
    }
  }

  /** Ends scoping (later allocations' errors go to the model's FailureWatch); the first error seen, or null. */
  async close(): Promise<GPUError | null> {
    this.open = false;
    return (await Promise.all(this.results)).find((e) => e !== null) ?? null;
  }
}

/** An arena whose every allocation, including those of plans built during creation, is scoped by `scopes`. */
export class CreationScopedArena extends BufferArena {
  constructor(device: GPUDevice, private readonly scopes: OutOfMemoryScopes, labelPrefix?: string) {
    super(device, labelPrefix);
  }

  override create(label: string, byteLength: number, usage?: GPUBufferUsageFlags): GPUBuffer {
    return this.scopes.around(() => super.create(label, byteLength, usage));
  }
}
