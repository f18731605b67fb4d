// What a model's calls refuse before anything is submitted, beside api-misuse.test.ts: data sets
// whose buffers are gone, rows with NaN, infinities or (Bernoulli) values outside [0, 1], labels
// for a model that has no classes, bad seeds, callbacks that are not functions, unknown `kernels`
// fields, settings that would be dropped, and parameters that are not finite numbers. And what a model may rely on: a device acquired by the
// library is counted per GPUDevice, however each model was given it, and an app's onLosses that
// throws fails no training step.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { VAE, type VaeOptions } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const tiny = { hidden: [16], latent: 3 };
const D = 784;

describe('a data set whose buffers are gone', async () => {
  const train = await loadMnistNode('train', { limit: 32 });
  const gone = /this data set was destroyed \(data\.destroy\(\) or its model's destroy\(\)\); upload it again with this model/;

  it('is refused by every model, and poisons none of them', async () => {
    const { device } = await gpu();
    const a = await VAE.create(tiny, { device, batch: 16, seed: 1 });
    const b = await VAE.create(tiny, { device, batch: 16, seed: 2 });
    const destroyed = a.upload(train);
    destroyed.destroy();
    expect(() => destroyed.setOrder(new Uint32Array(32))).toThrow(/^setOrder: this data set was destroyed/);
    await expect(a.trainStep({ data: destroyed, index: 0 })).rejects.toThrow(gone);
    await expect(a.elbo(destroyed)).rejects.toThrow(gone);
    // Data uploaded by a, used by b on the same device, then a is destroyed.
    const shared = a.upload(train);
    await b.trainStep({ data: shared, index: 0 });
    a.destroy();
    expect(shared.destroyed).toBe(true);
    await expect(b.trainStep({ data: shared, index: 1 })).rejects.toThrow(gone);
    await expect(b.elbo(shared)).rejects.toThrow(gone);
    await expect(b.logLikelihood(shared, { samples: 2 })).rejects.toThrow(gone);
    // Destroyed after the call, before the queued step runs.
    const late = b.upload(train);
    const step = b.trainStep({ data: late, index: 0 });
    late.destroy();
    await expect(step).rejects.toThrow(gone);
    expect((await b.sample(2, 3)).length).toBe(2 * D);
    expect((await b.readLosses()).map((l) => l.step)).toEqual([0]);
    b.destroy();
  });
});

describe('a device acquired by the library, shared by models', () => {
  it('is counted per GPUDevice: a model given its raw device keeps it alive, and the last model destroys it', async () => {
    const acquired = await acquireNodeDevice();
    const first = await VAE.create(tiny, { device: acquired, batch: 8, seed: 1 });
    const second = await loadCheckpoint(await saveCheckpoint(first), { device: acquired.device, batch: 8 });
    const before = await second.sample(2, 3);
    first.destroy();
    expect(await second.sample(2, 3)).toEqual(before);
    second.destroy();
    expect((await acquired.device.lost).reason).toBe('destroyed');
  });

  it('given as not owned ({ ...acquired, owned: false }), outlives its models, for experiments one after another', async () => {
    const acquired = await acquireNodeDevice();
    const kept = { ...acquired, owned: false };
    for (const seed of [1, 2]) {
      const vae = await VAE.create(tiny, { device: kept, batch: 8, seed });
      expect((await vae.sample(1, seed)).length).toBe(D);
      vae.destroy();
    }
    const lost = await Promise.race([acquired.device.lost.then(() => 'lost'), new Promise((r) => setTimeout(() => r('alive'), 50))]);
    expect(lost).toBe('alive');
    acquired.device.destroy();
  });
});

describe('rows, labels and seeds are refused by name', () => {
  it('non-finite values anywhere, and a Bernoulli model\'s pixels outside [0, 1], with their row and column', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const rows = (n: number) => new Float32Array(n * D).fill(0.3);
    const nan = rows(2);
    nan[D + 5] = NaN;
    await expect(vae.encode(nan)).rejects.toThrow(/encode: the value at row 1, column 5 is NaN; rows must hold finite numbers/);
    await expect(vae.trainStep(nan)).rejects.toThrow(/trainStep: the value at row 1, column 5 is NaN/);
    const inf = rows(1);
    inf[0] = -Infinity;
    await expect(vae.reconstruct(inf)).rejects.toThrow(/reconstruct: the value at row 0, column 0 is -Infinity/);
    await expect(vae.reconstructToBuffer(inf)).rejects.toThrow(/reconstructToBuffer: the value at row 0, column 0/);
    await expect(vae.decode(new Float32Array([0, Infinity, 0]))).rejects.toThrow(/decode: the value at row 0, column 1 is Infinity; rows must hold finite numbers \(codes from encode\(\) are not finite when the model's own parameters are not\)/);
    await expect(vae.trainStep(rows(8).fill(200))).rejects.toThrow(/trainStep: the value at row 0, column 0 is 200, outside \[0, 1\]; a Bernoulli model takes pixel values in \[0, 1\] \(divide 8-bit pixels by 255\)/);
    await expect(vae.encode(rows(1).fill(-0.5))).rejects.toThrow(/outside \[0, 1\]/);
    // Too many rows for the batch is counted in rows, the unit the batch is given in.
    await expect(vae.trainStep(rows(9))).rejects.toThrow(new RegExp(`^trainStep: expected 1\\.\\.8 rows of ${D} values, got 9 rows \\(${9 * D} values\\)$`));
    // A latent code is any finite vector.
    expect((await vae.decode(new Float32Array([5, -3, 0]))).length).toBe(D);
    expect(await vae.readLosses()).toEqual([]);
    vae.destroy();
    const gaussian = await VAE.create({ ...tiny, likelihood: 'gaussian' }, { device, batch: 8 });
    await gaussian.trainStep(rows(8).fill(2));
    expect((await gaussian.readLosses()).length).toBe(1);
    gaussian.destroy();
  });

  it('labels for a model that is not conditional; seeds that are not non-negative integers', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const notConditional = /this model is not conditional \(classes 0\); leave out the labels, or create it with classes: N/;
    const x = new Float32Array(8 * D).fill(0.5);
    await expect(vae.trainStep(x, new Array(8).fill(3))).rejects.toThrow(notConditional);
    await expect(vae.sample(2, 0, [1, 2, 3, 4, 5])).rejects.toThrow(notConditional);
    await expect(vae.encode(x.subarray(0, D), [7])).rejects.toThrow(notConditional);
    await expect(vae.decodeToBuffer(new Float32Array(3), [0])).rejects.toThrow(notConditional);
    await expect(vae.sample(2, 1.5)).rejects.toThrow(/sample: seed must be a non-negative integer, got 1\.5/);
    await expect(vae.sample(2, -1)).rejects.toThrow(/seed must be a non-negative integer, got -1/);
    await expect(vae.sample(2, NaN)).rejects.toThrow(/got NaN/);
    await expect(vae.sampleToBuffer(2, '3' as never)).rejects.toThrow(/sampleToBuffer: seed must be a non-negative integer, got '3' \(a string\)/);
    await expect(vae.sample('4' as never)).rejects.toThrow(/sample: n must be a positive integer, got '4' \(a string\)/);
    expect(() => vae.upload({ images: new Uint8Array(10 * D), count: 20 })).toThrow(/the images hold either 10 examples of 784 values: give count: 10, or 20 examples of 392 values each, while the model takes 784 \(inputDim\): build the model for 392-value pictures/);
    expect(() => vae.upload({ images: new Uint8Array(10 * D), count: 3 })).toThrow(/count and the images' length disagree: the images hold 10 examples of 784 values: give count: 10/);
    expect(() => vae.upload({ images: new Uint8Array(10 * 100), count: 10 })).toThrow(/the images hold 10 examples of 100 values each, while the model takes 784 \(inputDim\): build the model for 100-value pictures, or resize the pictures/);
    vae.destroy();
  });

  it('a class number where labels are a list, and labels where the seed goes, with the form wanted', async () => {
    const { device } = await gpu();
    const cvae = await VAE.create({ ...tiny, classes: 10 }, { device, batch: 8 });
    await expect(cvae.sample(4, 0, 5 as never)).rejects.toThrow(/^sample: labels are one class per row, an array or a typed array \(class 5 for all 4: new Array\(4\)\.fill\(5\)\); got the number 5$/);
    await expect(cvae.decode(new Float32Array(3 * 3), 3 as never)).rejects.toThrow(/^decode: labels are one class per row.*new Array\(3\)\.fill\(3\)/);
    await expect(cvae.sample(4, [1, 1, 1, 1] as never)).rejects.toThrow(/^sample: seed must be a non-negative integer, got an array; labels come third: sample\(n, seed, labels\), e\.g\. sample\(4, 0, labels\)$/);
    expect((await cvae.sample(4, 0, [1, 1, 1, 1])).length).toBe(4 * D);
    cvae.destroy();
  });

  it('labels beside a batch of resident data, which brings its own', async () => {
    const { device } = await gpu();
    const cvae = await VAE.create({ ...tiny, classes: 10 }, { device, batch: 8 });
    const data = cvae.upload({ images: new Uint8Array(8 * D).fill(100), count: 8, labels: new Uint8Array(8).fill(3) });
    await expect(cvae.trainStep({ data, index: 0 }, new Array(8).fill(5))).rejects.toThrow(/trainStep: a batch of resident data \{ data, index \} takes its labels from that data \(given to vae\.upload\(\)\); leave the labels argument out/);
    await cvae.trainStep({ data, index: 0 });
    expect((await cvae.readLosses()).length).toBe(1);
    data.destroy();
    cvae.destroy();
  });

  it('a data set uploaded for another class count, or without labels, refused by a conditional model', async () => {
    const { device } = await gpu();
    const [ten, eleven, plain] = await Promise.all([10, 11, 0].map((classes) => VAE.create({ ...tiny, classes }, { device, batch: 8 })));
    const images = new Uint8Array(8 * D).fill(100), labels = Uint8Array.from({ length: 8 }, (_, i) => i);
    const of11 = eleven.upload({ images, count: 8, labels }), unlabelled = plain.upload({ images, count: 8 });
    await expect(ten.elbo(of11)).rejects.toThrow(/^elbo: the data set's labels were uploaded for 11 classes, and this model is conditional on 10; upload it with this model \(vae\.upload\)$/);
    await expect(ten.trainStep({ data: of11, index: 0 })).rejects.toThrow(/^trainStep: the data set's labels were uploaded for 11 classes/);
    await expect(ten.logLikelihood(unlabelled, { samples: 2 })).rejects.toThrow(/^logLikelihood: this model is conditional on 10 classes, and the data set has no labels .*vae\.upload\(\{ images, count, labels \}\)$/);
    // Labels a model does not use are no obstacle: an unconditional model reads the pictures alone.
    expect((await plain.elbo(of11)).examples).toBe(8);
    expect((await ten.elbo(ten.upload({ images, count: 8, labels }))).examples).toBe(8);
    for (const m of [ten, eleven, plain]) m.destroy();
  });

  it('rows given where a data set is taken (elbo), naming what came and how to make a data set', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const rows = new Float32Array(8 * D).fill(0.5) as unknown as Parameters<typeof vae.elbo>[0];
    await expect(vae.elbo(rows)).rejects.toThrow(/^elbo: data must come from vae\.upload\(\), vae\.uploadRows\(\) or vae\.generateSprites\(\), got Float32Array: put the rows in a data set first, vae\.uploadRows\(\{ rows, count \}\)/);
    vae.destroy();
  });
});

describe('options refused by name at creation', () => {
  it.each<[string, Partial<VaeOptions>, RegExp]>([
    ['a misspelt kernels field', { kernels: { matmull: 'tiled' } as never }, /unknown kernels field 'matmull' \(did you mean 'matmul'\?\)/],
    ['an onLosses that is not a function', { onLosses: 5 as never }, /onLosses must be a function, got 5/],
    ['a batch given as a string', { batch: '16' as never }, /batch must be an integer in 1\.\.65535, got '16' \(a string\)/],
    ['lrDecaySteps without a decay', { lrDecaySteps: 100 }, /lrDecaySteps \(100\) only spans a cosine decay; add lrDecay: 'cosine', or leave lrDecaySteps out/],
  ])('%s', async (_, bad, message) => {
    const { device } = await gpu();
    await expect(VAE.create(tiny, { device, batch: 8, ...bad })).rejects.toThrow(message);
  });

  it('a beta-TCVAE at a training batch of 1, whose TC estimate has no other example; a model that only reads may take it', async () => {
    const { device } = await gpu();
    const tc = { ...tiny, objective: 'tcvae' as const, beta: 6 };
    await expect(VAE.create(tc, { device, batch: 1 })).rejects.toThrow(/^objective 'tcvae' estimates the total correlation from the other examples of each batch, and a batch of 1 has none \(it would train the plain ELBO\); use a batch of 2 or more/);
    const reader = await VAE.create(tc, { device, batch: 1, prepareTraining: false });
    expect((await reader.sample(1, 0)).length).toBe(D);
    reader.destroy();
    (await VAE.create(tc, { device, batch: 2 })).destroy();
  });

  it('initialParams beside a checkpoint, which brings its own', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const bytes = await saveCheckpoint(vae);
    await expect(loadCheckpoint(bytes, { device, initialParams: await vae.flatParameters() })).rejects.toThrow(/the checkpoint brings its own parameters, so initialParams cannot be given too/);
    vae.destroy();
  });

  it('parameters that are not finite numbers, named by tensor and index, from initialParams or setFlatParameters', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const flat = await vae.flatParameters();
    const bias = vae.layout.byName.get('decoder.out.bias')!;
    const bad = Float32Array.from(flat);
    bad[bias.offset + 3] = NaN;
    bad[bias.offset + 4] = -Infinity;
    await expect(VAE.create(tiny, { device, batch: 8, initialParams: bad })).rejects.toThrow(/initialParams: decoder\.out\.bias\[3\] is NaN \(2 values are not finite numbers\); a model cannot start from values that are not finite numbers/);
    expect(() => vae.setFlatParameters(bad)).toThrow(/setFlatParameters: decoder\.out\.bias\[3\] is NaN/);
    // The refused values reached nothing: the model's parameters are the ones it had.
    expect(await vae.flatParameters()).toEqual(flat);
    vae.destroy();
  });

  it('initialParams of another array type, even of the right length, refused before the upload', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const flat = await vae.flatParameters();
    vae.destroy();
    // A Float64Array's bytes would be uploaded as twice as many garbage floats; a Uint8Array's as a quarter of a buffer.
    for (const [given, named] of [[Float64Array.from(flat), 'Float64Array'], [Array.from(flat), 'an array'], [new Uint8Array(flat.length), 'Uint8Array']] as const) {
      const refused = VAE.create(tiny, { device, batch: 8, initialParams: given as never });
      await expect(refused).rejects.toThrow(new RegExp(`^initialParams must be a Float32Array in the model's flat layout \\(as flatParameters\\(\\) gives\\), got ${named}; convert with Float32Array\\.from`));
      await expect(refused).rejects.toMatchObject({ name: 'ConfigError' });
    }
  });
});

describe('onLosses', () => {
  it('takes every step\'s loss, which readLosses() then delivers and does not keep as well', async () => {
    const { device } = await gpu();
    const seen: number[] = [];
    const vae = await VAE.create(tiny, { device, batch: 8, lossEvery: 4, onLosses: (losses) => seen.push(...losses.map((l) => l.step)) });
    const x = new Float32Array(8 * D).fill(0.5);
    for (let i = 0; i < 10; i++) await vae.trainStep(x);
    // Steps 8 and 9 are still on the GPU: readLosses() reads them into onLosses and returns none.
    expect(await vae.readLosses()).toEqual([]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < 8; i++) await vae.trainStep(x);
    expect(await vae.readLosses()).toEqual([]);
    expect(seen.length).toBe(18);
    vae.destroy();
  });
});

describe('an onLosses that throws', () => {
  it('fails no training step; its first exception comes from the next readLosses, once', async () => {
    const { device } = await gpu();
    let calls = 0;
    const vae = await VAE.create(tiny, {
      device, batch: 8, lossEvery: 2,
      onLosses: () => {
        calls++;
        throw new Error(`app bug ${calls}`);
      },
    });
    const x = new Float32Array(8 * D).fill(0.5);
    for (let i = 0; i < 8; i++) await vae.trainStep(x);
    await expect(vae.readLosses()).rejects.toThrow(/^app bug 1$/);
    expect(calls).toBe(4);
    expect((await vae.readLosses()).map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    vae.destroy();
  });
});
