// The command line reading checkpoints against data and labels, before any device starts: a
// conditional checkpoint refuses a folder of pictures (they have no labels), --label takes the
// data set's class names, traverse --dataset folder finds the folder the run read, and a refused
// --init-from names the architecture flags that differ.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLabelForm, classNames, classWords, labelForCheckpoint } from '../src/cli/commands';
import { initFromNote, initialParamsFor } from '../src/cli/init-from';
import { OBJECTIVE_FLAGS, objectiveFlagGiven } from '../src/cli/objective-flags';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { checkDataFlags, checkResumeFlags, DEFAULT_RUN, type RunOptions } from '../src/cli/train-options';
import { describeLabel } from '../src/cli/traverse';
import { otherClassesWarning } from '../src/cli/io';
import { classesWithoutPictures } from '../src/cli/train-data';
import { FASHION_MNIST_CLASSES } from '../src/data/class-names';
import { initialParams } from '../src/model/params';
import { runMain } from './helpers/cli-main';
import { at, FIXTURE, refusedBeforeDevice, SENTINEL, useScratchFolder } from './helpers/cli-refusals';

useScratchFolder();

describe('checks against the checkpoint\'s classes and data set, before the device', () => {
  it('refuse a folder of pictures, which have no labels, for a conditional checkpoint', async () => {
    const config = resolveConfig({ hidden: [8], latent: 2, classes: 10 });
    const layout = paramLayout(config), flat = initialParams(layout, 1);
    const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
    const conditional = at('conditional.safetensors');
    writeFileSync(conditional, encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config), dataset: 'mnist' }));
    mkdirSync(at('unlabelled-pictures'), { recursive: true });
    const says = 'is conditional on 10 classes, and --dataset folder has no labels to go with its pictures; read labelled pictures of its size: use the data set it was trained on, --dataset mnist';
    for (const command of ['reconstruct', 'interpolate', 'traverse']) await refusedBeforeDevice([command, '--checkpoint', conditional, '--dataset', 'folder', '--data-dir', at('unlabelled-pictures'), '--out', at('x.png')], says);
    await refusedBeforeDevice(['eval', '--checkpoint', conditional, '--dataset', 'folder', '--data-dir', at('unlabelled-pictures')], says);
    // Trained from it, the pictures would have no labels to give; nor may a data set have more classes than it.
    await refusedBeforeDevice(['train', '--init-from', conditional, '--dataset', 'folder', '--data-dir', at('unlabelled-pictures'), '--image-size', '28', '--image-channels', '1', '--out', at('from-conditional')],
      `--init-from ${conditional} is a model conditional on 10 classes, and --dataset folder has no labels to give it; start from an unconditional model, or train it on labelled 1x28x28 pictures of at most 10 classes (--dataset mnist, --dataset fashion-mnist)`);
  });

  it('offer no new run from a conditional run\'s model on a data set without labels, when refusing to resume there', () => {
    const saved = { ...resolveConfig({ hidden: [8], latent: 2, classes: 10 }), ...DEFAULT_RUN, dataset: 'mnist' } as VaeConfig & RunOptions;
    const folder = { ...saved, dataset: 'folder' } as VaeConfig & RunOptions;
    expect(() => checkResumeFlags({ dataset: 'folder' } as unknown as Parameters<typeof checkResumeFlags>[0], 'runs/cvae', saved, folder)).toThrow(
      /^--dataset folder does not match the run in runs\/cvae, which has dataset mnist; resume without --dataset, or start a new run with another --out$/);
    // Labelled data of its size still gets the --init-from route.
    const fashion = { ...saved, dataset: 'fashion-mnist' } as VaeConfig & RunOptions;
    expect(() => checkResumeFlags({ dataset: 'fashion-mnist' } as unknown as Parameters<typeof checkResumeFlags>[0], 'runs/cvae', saved, fashion)).toThrow(/or start a new run from its model under --dataset fashion-mnist: --init-from runs\/cvae/);
  });

  it('offer a new run that would be accepted: the objective a flag belongs to, and the data flags changed', () => {
    const flags = (f: Record<string, unknown>) => f as unknown as Parameters<typeof checkResumeFlags>[0];
    const elbo = { ...resolveConfig({ hidden: [8], latent: 2 }), ...DEFAULT_RUN, dataset: 'mnist' } as VaeConfig & RunOptions;
    // --tc-estimator belongs to tcvae: the new run is offered with it.
    expect(() => checkResumeFlags(flags({ 'tc-estimator': 'mss' }), 'runs/e', elbo, { ...elbo, tcEstimator: 'mss' })).toThrow(
      /^--tc-estimator mss does not match the run in runs\/e, which has tc-estimator mws; resume without --tc-estimator, or start a new run from its model under --tc-estimator mss --objective tcvae: --init-from runs\/e with the same data flags and another --out$/);
    // An IWAE run's model under a KL weight: the ELBO's, the default, so no --objective iwae.
    const iwae = { ...elbo, ...resolveConfig({ hidden: [8], latent: 2, objective: 'iwae', samples: 5 }) } as VaeConfig & RunOptions;
    expect(() => checkResumeFlags(flags({ beta: '2' }), 'runs/i', iwae, { ...iwae, beta: 2 })).toThrow(/under --beta 2: --init-from runs\/i with the same data flags/);
    // A data flag is the change itself: the other data flags stay.
    expect(() => checkResumeFlags(flags({ limit: '1000' }), 'runs/e', elbo, { ...elbo, limit: 1000 })).toThrow(/under --limit 1000: --init-from runs\/e and the other data flags as before and another --out$/);
    // A run under another objective than the default: the offered command repeats its objective
    // flags, which resolve to the run's objective with the one flag changed.
    const tcvae = { ...elbo, ...resolveConfig({ hidden: [8], latent: 2, objective: 'tcvae', beta: 6, warmupSteps: 100 }) } as VaeConfig & RunOptions;
    const offered = (f: Record<string, unknown>, saved: VaeConfig & RunOptions, given: VaeConfig & RunOptions) => {
      let message = '';
      try { checkResumeFlags(flags(f), 'runs/r', saved, given); } catch (e) { message = (e as Error).message; }
      const under = /start a new run from its model under (.*): --init-from/.exec(message)?.[1] ?? '';
      const set: Record<string, unknown> = {};
      for (const [, flag, value] of under.matchAll(/--([a-z-]+) (\S+)/g)) {
        // The objective's flags; the changed one may be a run flag (--seed), which no config holds.
        const field = OBJECTIVE_FLAGS.find(([name]) => name === flag)?.[1];
        if (field) set[field] = Number.isNaN(Number(value)) ? value : Number(value);
      }
      return { message, config: resolveConfig({ hidden: [8], latent: 2, ...set }) };
    };
    const estimator = offered({ 'tc-estimator': 'mss' }, tcvae, { ...tcvae, tcEstimator: 'mss' });
    expect(estimator.message).toMatch(/under --tc-estimator mss --objective tcvae --beta 6 --warmup-steps 100: --init-from runs\/r/);
    expect(estimator.config).toMatchObject({ objective: 'tcvae', beta: 6, warmupSteps: 100, tcEstimator: 'mss' });
    const k50 = offered({ samples: '50' }, iwae, { ...iwae, samples: 50 });
    expect(k50.message).toMatch(/under --samples 50 --objective iwae: --init-from/);
    expect(k50.config).toMatchObject({ objective: 'iwae', samples: 50 });
    const seed = offered({ seed: '3' }, tcvae, { ...tcvae, seed: 3 });
    expect(seed.config).toMatchObject({ objective: 'tcvae', beta: 6, warmupSteps: 100, tcEstimator: 'mws' });
  });

  it('say when a run started from a model trains on another data set or under another objective than it', () => {
    const iwae = resolveConfig({ hidden: [8], latent: 2, objective: 'iwae', samples: 5, classes: 10 });
    const elbo = resolveConfig({ hidden: [8], latent: 2, classes: 10 });
    const initial = { path: 'runs/cf/model.safetensors', config: iwae, flat: new Float32Array(0), metadata: { dataset: 'fashion-mnist' } };
    expect(initFromNote(initial, elbo, 'mnist', { dataset: false, objective: false })).toBe(
      'this run trains on mnist, where the checkpoint was trained on fashion-mnist (--dataset fashion-mnist to keep it), and trains under the ELBO L=1, where the checkpoint was trained under the IWAE K=5 (--objective and its flags set it); --init-from takes the parameters and the architecture, not the data set or the objective');
    // Asked for, or the same: nothing to say. Any objective flag asks for the objective it gives.
    expect(initFromNote(initial, elbo, 'mnist', { dataset: true, objective: true })).toBeNull();
    expect(objectiveFlagGiven({ beta: '2' }) && objectiveFlagGiven({ 'samples-per-x': '5' }) && !objectiveFlagGiven({ lr: '1e-4', dataset: 'mnist' })).toBe(true);
    expect(initFromNote(initial, iwae, 'fashion-mnist', { dataset: false, objective: false })).toBeNull();
  });

  it('a missing --data-dir of a resumed run or a checkpoint names every kind of data folder, not the IDX files alone', async () => {
    mkdirSync(at('a-run'), { recursive: true });
    const any = /give the folder of the data set the model was trained on: the IDX files for MNIST and Fashion-MNIST .*, CIFAR-10's binary batches, or PNG or JPEG pictures for a folder run/;
    await refusedBeforeDevice(['train', '--resume', at('a-run'), '--data-dir', at('no-such-folder')], any);
    await refusedBeforeDevice(['eval', '--checkpoint', FIXTURE, '--data-dir', at('no-such-folder')], any);
    // With --dataset the hint is that data set's; a new run without it reads MNIST.
    await refusedBeforeDevice(['eval', '--checkpoint', FIXTURE, '--dataset', 'folder', '--data-dir', at('no-such-folder')], /give a folder of PNG or JPEG pictures/);
    await refusedBeforeDevice(['train', '--data-dir', at('no-such-folder')], /give the folder that holds the IDX files/);
  });

  it('a resumed MNIST run given a folder of pictures is told to give its own data, not to add --dataset', () => {
    mkdirSync(at('some-pictures'), { recursive: true });
    writeFileSync(at('some-pictures/a.png'), new Uint8Array(8));
    const run = { ...DEFAULT_RUN, dataset: 'mnist', dataDir: at('some-pictures') } as RunOptions;
    const flags = (f: Record<string, unknown>) => f as unknown as Parameters<typeof checkDataFlags>[0];
    expect(() => checkDataFlags(flags({ resume: 'runs/m' }), run)).toThrow(/holds PNG or JPEG pictures, and the run in runs\/m trains on mnist, which reads IDX files: give --data-dir the folder of its mnist files, or leave it out for the default copy$/);
    expect(() => checkDataFlags(flags({}), run)).toThrow(/and the data set is mnist by default, which reads IDX files: add --dataset folder to train on the pictures$/);
    // A resumed CIFAR-10 run's own folder of batches is its data, not a forgotten --dataset cifar10.
    mkdirSync(at('cifar-batches'), { recursive: true });
    for (const name of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) writeFileSync(at(`cifar-batches/${name}`), new Uint8Array(3073));
    expect(() => checkDataFlags(flags({ resume: 'runs/c' }), { ...DEFAULT_RUN, dataset: 'cifar10', dataDir: at('cifar-batches') } as RunOptions)).not.toThrow();
    expect(() => checkDataFlags(flags({ resume: 'runs/m' }), { ...run, dataDir: at('cifar-batches') })).toThrow(/holds CIFAR-10 batch files \(data_batch_\*\.bin, test_batch\.bin\), and the run in runs\/m trains on mnist, which reads IDX files/);
  });

  it('find the classes no training picture is labelled with', () => {
    expect(classesWithoutPictures(Uint8Array.of(0, 1, 2, 3, 4, 4, 0), 10)).toEqual([5, 6, 7, 8, 9]);
    expect(classesWithoutPictures(Uint8Array.of(2, 1, 0), 3)).toEqual([]);
    expect(classesWithoutPictures(undefined, 10)).toEqual([]);
    expect(classesWithoutPictures(new Uint8Array(0), 10)).toEqual([]);
  });

  it('suggest the nearest class name for a misspelt --label', () => {
    expect(() => labelForCheckpoint('Sandals', 10, 'f.safetensors', { dataset: 'fashion-mnist' })).toThrow(/--label must be a class number 0\.\.9 or one of its class names \(.*\), got 'Sandals'; did you mean 'Sandal'\?$/);
    expect(() => labelForCheckpoint('zebra', 10, 'f.safetensors', { dataset: 'fashion-mnist' })).toThrow(/got 'zebra'$/);
    // MNIST's classes are their digits: no word is near one.
    expect(() => labelForCheckpoint('a', 10, 'm.safetensors', { dataset: 'mnist' })).toThrow(/got 'a'$/);
  });

  it('warn when a conditional checkpoint reads a data set whose labels mean other classes', () => {
    expect(otherClassesWarning('m.safetensors', 10, { dataset: 'mnist' }, 'fashion-mnist')).toBe(
      "m.safetensors is conditional on the classes of mnist, and fashion-mnist's labels name other things (its label 0 is T-shirt/top, to the model class 0): each picture is given a class of another meaning; --dataset mnist reads the model's own");
    // The same classes (grey and colour dSprites' shapes), its own data set, no record, or no classes: nothing to say.
    expect(otherClassesWarning('d', 3, { dataset: 'dsprites' }, 'dsprites-color')).toBeNull();
    expect(otherClassesWarning('m', 10, { dataset: 'mnist' }, 'mnist')).toBeNull();
    expect(otherClassesWarning('m', 10, {}, 'fashion-mnist')).toBeNull();
    expect(otherClassesWarning('m', 0, { dataset: 'mnist' }, 'fashion-mnist')).toBeNull();
  });

  it('name the class a traversal decodes as, and echo --label as it was typed', () => {
    expect(describeLabel(8, '--label', FASHION_MNIST_CLASSES, 'Bag')).toBe('every tile decoded as class 8 (Bag) (--label Bag)');
    expect(describeLabel(9, 'picture', FASHION_MNIST_CLASSES)).toBe("every tile decoded as class 9 (Ankle boot), the test picture's own label (--label N for another class)");
    // Digits are their own names.
    expect(describeLabel(4, '--label', classNames({ dataset: 'mnist' }, 10), '4')).toBe('every tile decoded as class 4 (--label 4)');
  });

  it('refuse training a conditional checkpoint on a data set of more classes than it has', async () => {
    const config = resolveConfig({ inputDim: 64 * 64, imageShape: [64, 64], hidden: [8], latent: 2, classes: 3 });
    const layout = paramLayout(config), flat = initialParams(layout, 1);
    const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
    const three = at('three-classes.safetensors');
    writeFileSync(three, encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config), dataset: 'dsprites' }));
    await refusedBeforeDevice(['train', '--init-from', three, '--dataset', 'mnist', '--out', at('three-on-mnist')],
      `--init-from ${three} is a model conditional on 3 classes, and --dataset mnist has 10; start from a model conditional on 10 classes, or from an unconditional one`);
  });

  it('take --label as a class name where the checkpoint\'s data set names its classes', async () => {
    const meta = { dataset: 'fashion-mnist' };
    expect(labelForCheckpoint('Sneaker', 10, 'm', meta)).toBe(7);
    expect(labelForCheckpoint(' ankle boot ', 10, 'm', meta)).toBe(9);
    expect(labelForCheckpoint('3', 10, 'm', meta)).toBe(3);
    expect(() => labelForCheckpoint('Sneakers', 10, 'm', meta)).toThrow(/^--label must be a class number 0\.\.9 or one of its class names \(T-shirt\/top, Trouser, .*, Ankle boot\), got 'Sneakers'; did you mean 'Sneaker'\?$/);
    expect(() => labelForCheckpoint('seven', 10, 'm', { dataset: 'mnist' })).toThrow(/^--label must be a class number 0\.\.9 or one of its class names \(0, 1, .*\), got 'seven'$/);
    expect(() => labelForCheckpoint('cat', 10, 'm', {})).toThrow(/^--label must be a class number 0\.\.9, got 'cat'$/);
    expect(() => labelForCheckpoint('10', 10, 'm', meta)).toThrow(/--label must be an integer in 0\.\.9/);
    expect([classWords(7, classNames(meta, 10)), classWords(7, classNames({ dataset: 'mnist' }, 10)), classWords(7, null)]).toEqual(['7 (Sneaker)', '7', '7']);
    // The form alone before the checkpoint is read: a negative number is refused, a name waits for it.
    expect(() => checkLabelForm('-1')).toThrow(/--label must be an integer >= 0/);
    expect(() => checkLabelForm('Sneaker')).not.toThrow();
  });

  it('traverse --dataset folder without --data-dir reads the folder the run recorded, and says so', async () => {
    const runDir = at('folder-run');
    mkdirSync(join(runDir, 'pictures'), { recursive: true });
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    writeFileSync(join(runDir, 'model.safetensors'), encodeSafetensors(tensors, { ...metadata, dataset: 'folder' }));
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ format: 'webgpu-vae-run', config: JSON.parse(metadata.config), run: { dataset: 'folder', dataDir: join(runDir, 'pictures') } }));
    const r = await runMain(['traverse', '--checkpoint', join(runDir, 'model.safetensors'), '--dataset', 'folder', '--out', at('t.png')]);
    expect(r.stderr).toContain(`reading --data-dir ${join(runDir, 'pictures')}, the folder the run that wrote the checkpoint read`);
    expect(r.stderr, 'went on to the device').toContain(SENTINEL);
  });
});

describe('an --out inside the folder the checkpoint\'s run trained on', () => {
  it('is refused by every picture command, the folder read from the run\'s record, before the device', async () => {
    const runDir = at('out-run');
    const pictures = join(runDir, 'pictures');
    mkdirSync(pictures, { recursive: true });
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    const model = join(runDir, 'model.safetensors');
    writeFileSync(model, encodeSafetensors(tensors, { ...metadata, dataset: 'folder' }));
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ format: 'webgpu-vae-run', config: JSON.parse(metadata.config), run: { dataset: 'folder', dataDir: pictures } }));
    const inside = join(pictures, 'out.png');
    // Commands that read the folder (found from the record) and commands that read none.
    for (const argv of [['reconstruct'], ['interpolate'], ['traverse', '--dataset', 'folder']]) {
      const r = await runMain([...argv, '--checkpoint', model, '--out', inside]);
      // The line saying which folder is read, then the refusal.
      expect(r.stderr.trim().split('\n'), argv[0]).toEqual([
        expect.stringContaining(`reading --data-dir ${pictures}, the folder the run that wrote the checkpoint read`),
        expect.stringContaining(`--out ${inside} is inside --data-dir ${pictures}: the picture would replace or join the pictures the command reads`),
      ]);
      expect(r.code, argv[0]).toBe(1);
    }
    for (const argv of [['sample'], ['traverse']]) {
      await refusedBeforeDevice([...argv, '--checkpoint', model, '--out', join(pictures, 'sub', 'out.png')], `is inside ${pictures}, the picture folder the run that wrote the checkpoint trained on: the picture would join its pictures; choose an --out outside it`);
    }
    // Outside the folder, the commands go on to the device.
    for (const command of ['sample', 'reconstruct']) expect((await runMain([command, '--checkpoint', model, '--out', at('elsewhere.png')])).stderr).toContain(SENTINEL);
  });
});

describe('--init-from a model of another architecture', () => {
  it('with --likelihood given anew: the new likelihood\'s scale, and the checkpoint\'s scale parameter named if it has one', async () => {
    const write = (name: string, sigma: number | 'learned-pixel') => {
      const config = resolveConfig({ hidden: [8], latent: 2, likelihood: 'gaussian', sigma });
      const layout = paramLayout(config), flat = initialParams(layout, 1);
      const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
      writeFileSync(at(name), encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config), dataset: 'mnist' }));
      return at(name);
    };
    const learned = write('gaussian-learned-pixel.safetensors', 'learned-pixel');
    await refusedBeforeDevice(['train', '--init-from', learned, '--likelihood', 'bernoulli', '--out', at('to-bernoulli')],
      `--init-from ${learned} has likelihood.log_sigma, which this model does not: the architecture flags differ from the checkpoint's (it has --likelihood gaussian, --sigma learned-pixel; this run --likelihood bernoulli, --sigma 1)`);
    // A fixed scale has no parameter: the same network starts a Bernoulli model.
    const fixed = write('gaussian-fixed.safetensors', 0.5);
    expect((await runMain(['train', '--init-from', fixed, '--likelihood', 'bernoulli', '--out', at('fixed-to-bernoulli')])).stderr).toContain(SENTINEL);
    // The checkpoint's own likelihood, repeated, keeps its learned scale (with --dequantize beside it too).
    for (const extra of [[], ['--dequantize']]) {
      expect((await runMain(['train', '--init-from', learned, '--likelihood', 'gaussian', ...extra, '--out', at(`same-likelihood${extra.length}`)])).stderr).toContain(SENTINEL);
    }
  });

  it('--arch other than the checkpoint\'s: the architectures named, not a field of the checkpoint\'s own that the flags never gave', async () => {
    const write = (name: string, fields: Partial<VaeConfig>) => {
      const config = resolveConfig({ inputDim: 784, imageShape: [28, 28], latent: 2, ...fields });
      const layout = paramLayout(config), flat = initialParams(layout, 1);
      const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
      writeFileSync(at(name), encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config), dataset: 'mnist' }));
      return at(name);
    };
    const conv = write('conv-8-16.safetensors', { arch: 'conv', channels: [8, 16] });
    const toMlp = await refusedBeforeDevice(['train', '--init-from', conv, '--arch', 'mlp', '--out', at('conv-to-mlp')],
      `--init-from ${conv} has encoder.layers.0.weight of shape [8,1,4,4] where this model's is [400,784]`);
    expect(toMlp).toContain('the architecture flags differ from the checkpoint\'s (it has --arch conv, --hidden (none), --channels 8,16; this run --arch mlp, --hidden 400, --channels (none)); leave them out');
    expect(toMlp).not.toContain('--channels sets the conv architecture');
    const mlp = write('mlp-16.safetensors', { hidden: [16] });
    const toConv = await refusedBeforeDevice(['train', '--init-from', mlp, '--arch', 'conv', '--out', at('mlp-to-conv')], `--init-from ${mlp} has`);
    expect(toConv).toContain('the architecture flags differ from the checkpoint\'s (it has --arch mlp, --hidden 16');
  });

  it('names the flags that differ, with the checkpoint\'s values and this run\'s', () => {
    const theirs = resolveConfig({ arch: 'conv', inputDim: 784, imageShape: [28, 28], channels: [8, 16] });
    const ours = resolveConfig({ arch: 'conv', inputDim: 784, imageShape: [28, 28], channels: [8, 16], upsample: 'nearest' });
    const layout = paramLayout(theirs);
    const initial = { path: 'runs/t/model.safetensors', config: theirs, flat: initialParams(layout, 1) };
    expect(() => initialParamsFor(initial, ours)).toThrow(/^--init-from runs\/t\/model\.safetensors has decoder\.layers\.0\.weight of shape \[16,8,4,4\] where this model's is \[8,16,3,3\]: the architecture flags differ from the checkpoint's \(it has --upsample transposed; this run --upsample nearest\); leave them out/);
    const wider = resolveConfig({ hidden: [32], latent: 4, classes: 10 });
    expect(() => initialParamsFor({ path: 'm', config: resolveConfig({ hidden: [24], latent: 4 }), flat: initialParams(paramLayout(resolveConfig({ hidden: [24], latent: 4 })), 1) }, wider))
      .toThrow(/\(it has --hidden 24, no --conditional; this run --hidden 32, --conditional\)/);
  });
});
