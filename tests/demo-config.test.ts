// The demo's settings to model configuration (demo/worker/session-model.ts configFor): the conv
// architecture takes its channels, dense widths and normalization, the MLP none of them; a run
// saved before the dense or norm settings existed builds the conv model it was trained as.
import { describe, expect, it } from 'vitest';
import { epochOfLastStep } from '../demo/worker/session';
import { configFor } from '../demo/worker/session-model';
import { trainedElsewhere } from '../demo/worker/build';
import { dataSourceNamed } from '../src/data/sources';
import { DEFAULTS } from '../demo/ui/settings';
import type { LoadedData } from '../demo/worker/data';
import { resolveConfig } from '../src/model/config';
import { describeLikelihood, describeObjective, describeShape, PAGE_SYMBOLS } from '../src/model/describe';

const data = {
  name: 'pictures',
  train: { images: new Uint8Array(4 * 3 * 16 * 16), labels: new Uint8Array(4), count: 4, channels: 3, rows: 16, cols: 16, name: 'train' },
  test: { images: new Uint8Array(3 * 16 * 16), labels: new Uint8Array(1), count: 1, channels: 3, rows: 16, cols: 16, name: 'test' },
} as LoadedData;

describe('demo settings to a model', () => {
  it('gives the conv architecture its channels and dense widths, and the mlp neither', () => {
    const conv = resolveConfig(configFor({ ...DEFAULTS, arch: 'conv', channels: [4, 8], dense: [32, 16], norm: 'group' }, data));
    expect([conv.arch, conv.channels, conv.dense, conv.norm, conv.inputDim, conv.imageChannels]).toEqual(['conv', [4, 8], [32, 16], 'group', 768, 3]);
    const mlp = resolveConfig(configFor({ ...DEFAULTS, arch: 'mlp', channels: [4, 8], dense: [32], norm: 'group' }, data));
    expect([mlp.arch, mlp.channels, mlp.dense, mlp.norm, mlp.hidden]).toEqual(['mlp', [], [], 'none', DEFAULTS.hidden]);
  });

  it('builds a run saved without dense widths or norm as the conv model without them', () => {
    const { dense: _dropped, norm: _alsoDropped, ...saved } = { ...DEFAULTS, arch: 'conv' as const, channels: [4, 8] };
    const conv = resolveConfig(configFor(saved, data));
    expect([conv.dense, conv.norm]).toEqual([[], 'none']);
  });

  it('passes the KL schedule on, and builds a run saved before cyclical annealing existed without it', () => {
    const cyclical = resolveConfig(configFor({ ...DEFAULTS, beta: 4, warmupSteps: 50, klCycleSteps: 200 }, data));
    expect([cyclical.beta, cyclical.warmupSteps, cyclical.klCycleSteps]).toEqual([4, 50, 200]);
    const { klCycleSteps: _dropped, ...saved } = { ...DEFAULTS, warmupSteps: 50 };
    const old = resolveConfig(configFor(saved, data));
    expect([old.warmupSteps, old.klCycleSteps]).toEqual([50, 0]);
  });

  it('passes capacity control on, and builds a run saved before it existed without it', () => {
    const cap = resolveConfig(configFor({ ...DEFAULTS, beta: 1000, klCapacity: 25, capacitySteps: 5000 }, data));
    expect([cap.beta, cap.klCapacity, cap.capacitySteps]).toEqual([1000, 25, 5000]);
    const { klCapacity: _dropped, capacitySteps: _alsoDropped, ...saved } = { ...DEFAULTS, klCapacity: 25, capacitySteps: 5000 };
    const old = resolveConfig(configFor(saved, data));
    expect([old.klCapacity, old.capacitySteps]).toEqual([0, 0]);
  });

  it('passes the beta-TCVAE objective, its beta and its estimator on; a run saved before the estimator existed takes MWS', () => {
    const tc = resolveConfig(configFor({ ...DEFAULTS, objective: 'tcvae', beta: 6 }, data));
    expect([tc.objective, tc.beta, tc.tcEstimator]).toEqual(['tcvae', 6, 'mws']);
    expect(resolveConfig(configFor({ ...DEFAULTS, objective: 'tcvae', beta: 6, tcEstimator: 'mss' }, data)).tcEstimator).toBe('mss');
    const { tcEstimator: _dropped, ...saved } = { ...DEFAULTS, objective: 'tcvae' as const, beta: 6 };
    expect(resolveConfig(configFor(saved, data)).tcEstimator).toBe('mws');
    // Another objective never takes a stratified estimate (it has no total correlation).
    expect(resolveConfig(configFor({ ...DEFAULTS, tcEstimator: 'mss' }, data)).tcEstimator).toBe('mws');
  });

  it('describes the model and its objective the same way in the CLI (ASCII) and on the page', () => {
    expect(describeShape(resolveConfig({ hidden: [512, 256] }))).toBe('784-512-256-20');
    const conv = resolveConfig(configFor({ ...DEFAULTS, arch: 'conv', channels: [4, 8], dense: [32], norm: 'group', latent: 6 }, data));
    // 8 groups do not divide the 4-channel layer, which takes 4 (its largest divisor below 8): said so.
    expect(describeShape(conv)).toBe('conv 3x16x16 -> 4-8 (GroupNorm 8; 4 at width 4) -> 32 -> 6');
    expect(describeShape({ ...conv, channels: [30, 64] })).toBe('conv 3x16x16 -> 30-64 (GroupNorm 8; 6 at width 30) -> 32 -> 6');
    expect(describeShape({ ...conv, channels: [16, 32] })).toBe('conv 3x16x16 -> 16-32 (GroupNorm 8) -> 32 -> 6');
    expect(describeShape({ ...conv, norm: 'none', dense: [] }, PAGE_SYMBOLS)).toBe('conv 3×16×16 → 4-8 → 6');
    // The page's Conv upsampling choice reaches the model, and the one line names it.
    const nearest = resolveConfig(configFor({ ...DEFAULTS, arch: 'conv', channels: [4, 8], upsample: 'nearest', latent: 6 }, data));
    expect(nearest.upsample).toBe('nearest');
    expect(describeShape(nearest)).toBe('conv 3x16x16 -> 4-8 -> 6, nearest upsampling');
    expect(resolveConfig(configFor({ ...DEFAULTS, arch: 'mlp', upsample: 'nearest' }, data)).upsample).toBe('transposed');
    expect(describeObjective(resolveConfig({}))).toBe('ELBO L=1');
    // The likelihood names its scale, whichever it is.
    expect([{}, { likelihood: 'gaussian' as const }, { likelihood: 'gaussian' as const, sigma: 0.5 }, { likelihood: 'gaussian' as const, sigma: 'learned' as const },
      { likelihood: 'gaussian' as const, sigma: 'learned-pixel' as const }, { likelihood: 'gaussian' as const, sigma: 'predicted' as const, dequantize: true }].map((c) => describeLikelihood(resolveConfig(c))))
      .toEqual(['bernoulli', 'gaussian, sigma 1', 'gaussian, sigma 0.5', 'gaussian with a learned scale', 'gaussian with a learned scale per pixel', 'gaussian with predicted scales, dequantized']);
    expect(describeObjective(resolveConfig({ beta: 4, warmupSteps: 50, klCycleSteps: 200, freeBits: 0.5, samples: 2 }))).toBe('ELBO L=2 beta=4 warm-up 50 steps every 200 free bits 0.5');
    expect(describeObjective(resolveConfig({ beta: 4 }), PAGE_SYMBOLS)).toBe('ELBO L=1 β=4');
    expect(describeObjective(resolveConfig({ beta: 1000, klCapacity: 25, capacitySteps: 12000 }), PAGE_SYMBOLS)).toBe('ELBO L=1 β=1000 capacity 25 nats over 12000 steps');
    expect(describeObjective(resolveConfig({ objective: 'iwae', samples: 5 }))).toBe('IWAE K=5');
    expect(describeObjective(resolveConfig({ objective: 'tcvae', beta: 6, warmupSteps: 100 }))).toBe('beta-TCVAE L=1 TC beta=6 warm-up 100 steps');
    expect(describeObjective(resolveConfig({ objective: 'tcvae', beta: 6 }), PAGE_SYMBOLS)).toBe('β-TCVAE L=1 TC β=6');
  });
});

describe('the data set a checkpoint file names, on the page', () => {
  it('is said when a loaded file was trained on another known data set', () => {
    expect(trainedElsewhere('fashion-mnist', 'MNIST')).toEqual({ was: 'Fashion-MNIST', now: 'MNIST' });
    // Files the page wrote before it recorded the command line's names.
    expect(trainedElsewhere('Fashion-MNIST', 'MNIST')).toEqual({ was: 'Fashion-MNIST', now: 'MNIST' });
    expect(trainedElsewhere('dsprites', 'your images (40)')).toEqual({ was: 'dSprites', now: 'your own images' });
    for (const [recorded, current] of [['mnist', 'MNIST'], ['Fashion-MNIST', 'Fashion-MNIST'], [undefined, 'MNIST'], ['someone-else', 'MNIST']] as const) {
      expect(trainedElsewhere(recorded, current), `${recorded} on ${current}`).toBeNull();
    }
  });

  it('is the command line\'s name of each data set the page trains on', () => {
    expect(['MNIST', 'Fashion-MNIST', 'dsprites', 'dsprites-color', 'your images (12, 1 skipped)'].map(dataSourceNamed)).toEqual(['mnist', 'fashion-mnist', 'dsprites', 'dsprites-color', 'folder']);
  });
});

describe('the epoch a kept run is said to be in', () => {
  it('is the epoch of its last step: at an epoch\'s end that epoch, as the status line says', () => {
    // 63 steps an epoch: after 126 steps the counters point at epoch 3, 0 steps in.
    expect(epochOfLastStep(3, 0, 126)).toBe(2);
    expect(epochOfLastStep(3, 5, 131)).toBe(3);
    expect(epochOfLastStep(1, 0, 0)).toBe(1);
  });
});
