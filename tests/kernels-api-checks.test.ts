// What `webgpu-vae/kernels` refuses before a wrong value reaches the GPU, beside
// kernels-api-misuse.test.ts: each of these was once accepted, and gave wrong numbers or a
// later, vaguer error.
import { describe, expect, it } from 'vitest';
import {
  conv2dForward, elboReduce, matmul, optimizerStep,
} from '../src/kernels';

/** `expect(...).toThrow` matcher of an error by class name and message. */
const refusal = (name: string, message: RegExp) => expect.objectContaining({ name, message: expect.stringMatching(message) });

describe('factories refuse a shape or layout the kernel would index wrongly', () => {
  it('a size that is a string or 0 is a ConfigError showing its type, and a 0 says to skip the dispatch', () => {
    // M: '37' printed as M=37, as if a number had been refused.
    expect(() => matmul({ M: '37' as never, N: 3, K: 4 })).toThrow(refusal('ConfigError', /^matmul: M='37' \(a string\) must be a positive integer$/));
    expect(() => matmul({ M: 0, N: 3, K: 4 })).toThrow(refusal('ConfigError', /^matmul: M=0 must be a positive integer; a size of 0 leaves nothing to compute: skip the dispatch \(e\.g\. for an empty batch\) instead of building a kernel for it$/));
    expect(() => optimizerStep({ kind: 'adam', count: 0 })).toThrow(/count=0 must be a positive integer; a size of 0 leaves nothing to compute/);
    expect(() => conv2dForward({ batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 2, kernel: 3, stride: 1, padding: true as never })).toThrow(refusal('ConfigError', /padding=true \(a boolean\) must be a non-negative integer/));
    expect(() => elboReduce({ batch: 2, samples: 1, capacity: true, freeBitsLatent: 2 })).toThrow(refusal('ConfigError', /capacity control does not combine/));
    expect(() => matmul({ M: 2, N: 2, K: 2, variant: 'tiled-2' as never })).toThrow(refusal('ConfigError', /unknown variant 'tiled-2'/));
  });
});
