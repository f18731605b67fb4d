// What `webgpu-vae/kernels` refuses before a wrong value reaches the GPU, beside
// kernels-api-misuse.test.ts: each of these was once accepted, and gave wrong numbers or a
// later, vaguer error.
import { describe, expect, it } from 'vitest';
import {
  conv2dForward, elboReduce, iwaeChunk, iwaeWeights, klDivergence, klFreeBits, matmul, optimizerStep, type PosteriorLayout, reparamBackward,
  reparamForward,
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

  it('mu and logvar overlapping, or running past the stride into the next row, in every kernel that reads a posterior', () => {
    const layoutKernels: [string, (layout: PosteriorLayout) => unknown][] = [
      ['reparam_forward', (layout) => reparamForward({ batch: 2, samples: 1, layout })],
      ['reparam_backward', (layout) => reparamBackward({ batch: 2, samples: 1, layout })],
      ['kl_divergence', (layout) => klDivergence({ batch: 2, layout, gradients: true })],
      ['kl_free_bits', (layout) => klFreeBits({ batch: 2, layout })],
      ['iwae_weights', (layout) => iwaeWeights({ batch: 2, samples: 2, layout, gradients: true })],
      ['iwae_chunk', (layout) => iwaeChunk({ batch: 2, samples: 2, layout })],
    ];
    for (const [name, build] of layoutKernels) {
      // logvar of row b was mu of row b + 1.
      expect(() => build({ latent: 7, stride: 7, mu: 0, logvar: 7 }), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout logvar \\[7, 14\\) runs past the row stride 7 into the next row; .* the stride must be at least 14`)));
      expect(() => build({ latent: 4, stride: 8, mu: 0, logvar: 2 }), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout mu \\[0, 4\\) and logvar \\[2, 6\\) overlap`)));
      expect(() => build({ latent: 3, stride: 6, mu: 0, logvar: 0 }), name).toThrow(/layout mu \[0, 3\) and logvar \[0, 3\) overlap/);
      expect(() => build({ latent: 3, stride: 5, mu: 3, logvar: 0 }), name).toThrow(/layout mu \[3, 6\) runs past the row stride 5/);
      expect(() => build(undefined as never), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout must be \\{ latent, stride, mu, logvar \\}, got undefined$`)));
      // Apart and inside the row, in either order and with room to spare: fine.
      for (const ok of [{ latent: 3, stride: 6, mu: 0, logvar: 3 }, { latent: 3, stride: 8, mu: 4, logvar: 1 }]) expect(() => build(ok), name).not.toThrow();
    }
  });
});
