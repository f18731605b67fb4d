// Buffer arenas for tests that place tensors themselves (tensor-plan.test.ts,
// tensor-plan-graph.test.ts), destroyed when the calling file's tests have finished.
import { afterAll } from 'vitest';
import { BufferArena } from '../../src/gpu/buffers';
import { gpu } from './gpu';

/** WebGPU's default minStorageBufferOffsetAlignment, which pooled offsets must respect. */
export const ALIGN = 256;

/**
 * Returns a function making arenas labelled `label` on the shared device. Call it at a test file's
 * top level: it registers that file's afterAll, which destroys every arena made.
 */
export function arenaMaker(label: string): () => Promise<BufferArena> {
  const arenas: BufferArena[] = [];
  afterAll(() => arenas.forEach((a) => a.destroyAll()));
  return async function newArena(): Promise<BufferArena> {
    const arena = new BufferArena((await gpu()).device, label);
    arenas.push(arena);
    return arena;
  };
}
