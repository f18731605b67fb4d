// The demo's settings form (demo/ui/settings.ts): numbers without a natural ceiling (β, free
// bits, KL capacity) are refused above a sensible one, naming the field and its range, as every
// other field is; controls that do not apply to the other choices are turned off as the choice is
// made (the other architecture's fields; Gaussian σ and Dequantize under Bernoulli; f16
// activations without shader-f16, leaving the Activations control on), not refused at Start. The form here is a stand-in with the few properties the module reads.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, lockSettings, MAX, readSettings, useAdapterFeatures, writeConfig, writeSettings } from '../demo/ui/settings';
import { resolveConfig } from '../src/model/config';

type Control = { name: string; value: string; checked: boolean; disabled: boolean; title: string; label: { off: boolean }; options?: Control[] };

/** A form with one control per setting, each inside a label whose 'off' class is recorded. */
function fakeForm() {
  const control = (name: string): Control => ({ name, value: '', checked: false, disabled: false, title: '', label: { off: false } });
  const names = ['latent', 'arch', 'hidden', 'channels', 'dense', 'norm', 'upsample', 'precision', 'likelihood', 'sigma', 'dequantize', 'objective', 'tcEstimator', 'samples', 'beta',
    'warmupSteps', 'klCycleSteps', 'freeBits', 'klCapacity', 'capacitySteps', 'conditional', 'binarize', 'batch', 'lr', 'seed', 'subset'];
  const controls = new Map(names.map((n) => [n, control(n)]));
  const f16 = Object.assign(control('f16 option'), { tagName: 'OPTION' });
  const precision = controls.get('precision')!;
  precision.options = [f16];
  // An option's label is its select's.
  const dom = (c: Control) => Object.assign(c, {
    closest: () => ({ classList: { toggle: (_: string, on: boolean) => ((c === f16 ? precision : c).label.off = on) } }),
    querySelector: () => (c.options ? dom(c.options[0]) : null),
  });
  const listeners: (() => void)[] = [];
  const elements = Object.assign([...controls.values()].map(dom), { namedItem: (n: string) => dom(controls.get(n)!) });
  const form = { elements, addEventListener: (_: string, fn: () => void) => listeners.push(fn) } as unknown as HTMLFormElement;
  writeSettings(form, DEFAULTS);
  /** Sets a control as the user does: the value, then the form's change event. */
  const choose = (name: string, value: string) => { controls.get(name)!.value = value; listeners.forEach((fn) => fn()); };
  return { form, c: (n: string) => controls.get(n)!, f16, choose };
}

describe('numbers without a natural ceiling', () => {
  it.each([
    ['beta', 'β must be a number from 0 to 10,000 (1 gives the ELBO) (got "1e9")'],
    ['freeBits', 'Free bits must be a number of nats per latent dimension from 0 to 20 (0 turns them off) (got "1e9")'],
    ['klCapacity', 'KL capacity must be a number of nats from 0 to 1,000 (0 turns capacity control off) (got "1e9")'],
  ])('refuses 1e9 for %s, naming the field and its range', (name, message) => {
    const { form, c } = fakeForm();
    c(name).value = '1e9';
    expect(() => readSettings(form)).toThrow(message);
  });

  it('takes each at its ceiling', () => {
    const { form, c } = fakeForm();
    c('beta').value = String(MAX.beta);
    c('klCapacity').value = String(MAX.klCapacity);
    expect(readSettings(form)).toMatchObject({ beta: 10_000, klCapacity: 1_000 });
    c('klCapacity').value = '0';
    c('freeBits').value = String(MAX.freeBits);
    expect(readSettings(form).freeBits).toBe(20);
  });
});

describe('what the fields take', () => {
  it('layer sizes in plain digits only, and a learning rate that can move a float32 weight', () => {
    const { form, c } = fakeForm();
    for (const odd of ['0x10', '1e3', '16.0', '+16']) {
      c('hidden').value = odd;
      expect(() => readSettings(form), odd).toThrow(/^Hidden sizes must be one or more whole numbers/);
    }
    c('hidden').value = '512, 256';
    expect(readSettings(form).hidden).toEqual([512, 256]);
    c('lr').value = '1e-320';
    expect(() => readSettings(form)).toThrow('Learning rate must be a number from 1e-8 to below 1, e.g. 0.001 (got "1e-320")');
    c('lr').value = '1e-8';
    expect(readSettings(form).lr).toBe(1e-8);
  });
});

describe('controls that apply under another choice only', () => {
  it('turns Gaussian σ and Dequantize off under Bernoulli, and on again under Gaussian', () => {
    const { form, c, choose } = fakeForm();
    lockSettings(form, false);
    expect([c('sigma').disabled, c('dequantize').disabled, c('dequantize').label.off]).toEqual([true, true, true]);
    expect(c('dequantize').title).toMatch(/Gaussian likelihood only/);
    choose('likelihood', 'gaussian');
    expect([c('sigma').disabled, c('dequantize').disabled, c('sigma').label.off]).toEqual([false, false, false]);
    c('dequantize').checked = true;
    expect(readSettings(form).dequantize).toBe(true);
    // Back to Bernoulli: the box is unticked as it is turned off, so Start is not refused for it.
    choose('likelihood', 'bernoulli');
    expect([c('dequantize').disabled, c('dequantize').checked]).toEqual([true, false]);
    expect(readSettings(form)).toMatchObject({ likelihood: 'bernoulli', dequantize: false });
  });

  it('turns the MLP\'s hidden sizes off under the conv architecture, and the conv fields under the MLP', () => {
    const { form, c, choose } = fakeForm();
    lockSettings(form, false);
    const convFields = () => ['channels', 'dense', 'norm', 'upsample'].map((n) => c(n).disabled);
    expect([c('hidden').disabled, ...convFields()]).toEqual([false, true, true, true, true]);
    expect(c('channels').title).toMatch(/convolutional architecture only/);
    // What the architecture not chosen holds is not checked: its fields cannot be corrected while off.
    c('channels').value = '16, x';
    c('upsample').value = 'nearest';
    expect(readSettings(form)).toMatchObject({ arch: 'mlp', channels: [], norm: 'none', upsample: 'transposed' });
    choose('arch', 'conv');
    expect([c('hidden').disabled, ...convFields()]).toEqual([true, false, false, false, false]);
    expect(c('hidden').title).toMatch(/MLP architecture only/);
    expect(() => readSettings(form)).toThrow(/^Conv channels must be whole numbers/);
    c('channels').value = '16, 32';
    c('hidden').value = 'nonsense';
    expect(readSettings(form)).toMatchObject({ arch: 'conv', channels: [16, 32], hidden: DEFAULTS.hidden, upsample: 'nearest' });
  });

  it('leaves a locked form locked, and applies the choices again once it is unlocked', () => {
    const { form, c, choose } = fakeForm();
    lockSettings(form, true);
    choose('likelihood', 'gaussian');
    expect([c('sigma').disabled, c('latent').disabled]).toEqual([true, true]);
    lockSettings(form, false);
    expect([c('sigma').disabled, c('latent').disabled]).toEqual([false, false]);
    choose('likelihood', 'bernoulli');
    expect(c('sigma').disabled).toBe(true);
  });

  it('offers f16 activations only on a GPU with shader-f16', () => {
    const { form, c, f16 } = fakeForm();
    lockSettings(form, false);
    expect(f16.disabled).toBe(false);
    c('precision').value = 'f16';
    useAdapterFeatures(form, ['timestamp-query', 'subgroups']);
    expect([f16.disabled, c('precision').value]).toEqual([true, 'f32']);
    expect(c('precision').label.off, 'the select and its label stay on: f32 is still a choice').toBe(false);
    expect((f16 as unknown as { textContent: string }).textContent).toMatch(/needs shader-f16, which this GPU lacks/);
    useAdapterFeatures(form, new Set(['shader-f16']));
    expect(f16.disabled).toBe(false);
  });
});

describe('a built or loaded model shown in the form', () => {
  it('leaves Conv channels empty where the size chose them, so another data set chooses its own; shows them otherwise', () => {
    const { form, c } = fakeForm();
    const mnistConv = resolveConfig({ arch: 'conv', inputDim: 784, imageShape: [28, 28] });
    expect(mnistConv.channels).toEqual([32, 64]);
    writeConfig(form, mnistConv);
    expect(c('channels').value).toBe('');
    expect(c('arch').value).toBe('conv');
    // Channels of the user's, or of a loaded file that differ from the size's choice, are shown.
    writeConfig(form, resolveConfig({ arch: 'conv', inputDim: 784, imageShape: [28, 28], channels: [8, 16] }));
    expect(c('channels').value).toBe('8, 16');
    c('channels').value = '';
    writeConfig(form, resolveConfig({ arch: 'conv', inputDim: 4096, imageShape: [64, 64], channels: [16, 16, 16, 16] }));
    expect(c('channels').value).toBe('16, 16, 16, 16');
  });
});

describe("β-TCVAE's TC estimate", () => {
  it('is on for β-TCVAE alone, read there, and taken as MWS for the other objectives', () => {
    const { form, c, choose } = fakeForm();
    expect(c('tcEstimator').value).toBe('mws');
    lockSettings(form, false);
    choose('objective', 'elbo');
    expect([c('tcEstimator').disabled, c('tcEstimator').label.off]).toEqual([true, true]);
    expect(c('tcEstimator').title).toMatch(/Applies to the β-TCVAE objective only/);
    choose('objective', 'tcvae');
    expect(c('tcEstimator').disabled).toBe(false);
    choose('tcEstimator', 'mss');
    expect(readSettings(form).tcEstimator).toBe('mss');
    // Left at mss while another objective is chosen: not read, so Start is not refused.
    choose('objective', 'elbo');
    expect(readSettings(form).tcEstimator).toBe('mws');
  });

  it('shows a loaded checkpoint\'s estimator', () => {
    const { form, c } = fakeForm();
    writeConfig(form, resolveConfig({ objective: 'tcvae', beta: 6, tcEstimator: 'mss' }));
    expect([c('objective').value, c('tcEstimator').value]).toEqual(['tcvae', 'mss']);
  });
});
