// beta-TCVAE's choice of total-correlation estimator (config.tcEstimator, --tc-estimator): checked
// at creation and on the command line before any device, recorded in the graph (the stratified
// kernels run), named in the model's description. The estimates themselves are checked against
// float64 references in tc.test.ts and through the whole model in gradcheck.test.ts.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { configForFile, resolveConfig } from '../src/model/config';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { describeObjective } from '../src/model/describe';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';
import { at, passesChecks, refusedBeforeDevice, useScratchFolder } from './helpers/cli-refusals';

useScratchFolder();

describe('tcEstimator in the configuration', () => {
  it('defaults to minibatch-weighted sampling and takes mss for the tcvae objective', () => {
    expect(resolveConfig({}).tcEstimator).toBe('mws');
    expect(resolveConfig({ objective: 'tcvae', beta: 6, tcEstimator: 'mss' }).tcEstimator).toBe('mss');
  });
  it('refuses an unknown estimator, and mss for an objective without a total correlation', () => {
    expect(() => resolveConfig({ objective: 'tcvae', beta: 6, tcEstimator: 'MSS' as 'mss' })).toThrow(/tcEstimator must be one of mws, mss; got 'MSS'/);
    expect(() => resolveConfig({ tcEstimator: 'mss' })).toThrow(ConfigError);
    expect(() => resolveConfig({ objective: 'iwae', samples: 5, tcEstimator: 'mss' })).toThrow(/tcEstimator 'mss' estimates the total correlation of the tcvae objective, and the iwae objective has none; use objective 'tcvae', or leave tcEstimator out/);
  });
  it('is named in the objective\'s description only when stratified', () => {
    expect(describeObjective(resolveConfig({ objective: 'tcvae', beta: 6, tcEstimator: 'mss' }))).toBe('beta-TCVAE L=1 TC beta=6 (stratified estimate)');
    expect(describeObjective(resolveConfig({ objective: 'tcvae', beta: 6 }))).toBe('beta-TCVAE L=1 TC beta=6');
  });
});

describe('a model with the stratified estimate', () => {
  it('records the stratified kernels in its training graph, and the weighted ones by default', async () => {
    const { device } = await gpu();
    const names = async (tcEstimator: 'mws' | 'mss') => {
      const vae = await VAE.create({ hidden: [8], latent: 3, objective: 'tcvae', beta: 6, tcEstimator }, { device, batch: 4 });
      const kernels = (await vae.plan('train', 4)).graph.nodes.map((n) => n.kernel.name).filter((n) => n.startsWith('tc_'));
      vae.destroy();
      return kernels;
    };
    expect(await names('mss')).toEqual(['tc_rows_grad_mss', 'tc_posterior_grad_mss']);
    expect(await names('mws')).toEqual(['tc_rows_grad', 'tc_posterior_grad']);
  });
});

describe('tcEstimator in files', () => {
  it('is written only when stratified, so checkpoints of the default load in versions before it', async () => {
    const { device } = await gpu();
    for (const tcEstimator of ['mws', 'mss'] as const) {
      const vae = await VAE.create({ hidden: [8], latent: 3, objective: 'tcvae', beta: 6, tcEstimator }, { device, batch: 4 });
      const bytes = await saveCheckpoint(vae);
      vae.destroy();
      const written = JSON.parse(readCheckpoint(bytes).metadata.config);
      expect('tcEstimator' in written, tcEstimator).toBe(tcEstimator === 'mss');
      const loaded = await loadCheckpoint(bytes, { device, batch: 4 });
      expect(loaded.config.tcEstimator).toBe(tcEstimator);
      loaded.destroy();
    }
    expect(configForFile(resolveConfig({}))).not.toHaveProperty('tcEstimator');
  });
});

describe('--tc-estimator on the command line', () => {
  it('takes mws or mss with --objective tcvae, and refuses it elsewhere or misspelt, before the device', async () => {
    await passesChecks(['train', '--objective', 'tcvae', '--beta', '6', '--tc-estimator', 'mss', '--out', at('mss')]);
    await refusedBeforeDevice(['train', '--tc-estimator', 'mss', '--out', at('elbo-mss')], /--tc-estimator 'mss' estimates the total correlation of the tcvae objective, and the elbo objective has none; use --objective tcvae, or leave --tc-estimator out/);
    await refusedBeforeDevice(['train', '--objective', 'tcvae', '--beta', '6', '--tc-estimator', 'stratified', '--out', at('bad')], /--tc-estimator/, /mws/);
  });
});
