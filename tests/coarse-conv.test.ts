// The warning `train` gives when a conv model's picture sides stop halving early (a 30x30 folder
// halves once, to 15x15: one convolution and a 7,200-wide dense input), and its silence for the
// sizes the usual stack takes or when the widths were given.
import { describe, expect, it } from 'vitest';
import { coarseConvWarning } from '../src/cli/train-report';
import { resolveConfig } from '../src/model/config';

const conv = (side: number, channels = 3, widths: number[] = []) =>
  resolveConfig({ arch: 'conv', imageShape: [side, side], imageChannels: channels, inputDim: channels * side * side, channels: widths });

describe('coarseConvWarning', () => {
  it('names the sides, the halvings, the dense width and the fix when the sides stop halving above 7', () => {
    expect(coarseConvWarning(conv(30), false)).toBe(
      '30x30 pictures halve evenly only once, to 15x15, so the conv model has 1 convolution and a 7200-wide input to its dense layer; ' +
        'an --image-size that halves down to 4-7 (e.g. 32 or 64) gives the usual stack, or set the widths with --channels',
    );
    expect(coarseConvWarning(conv(100), false)).toMatch(/^100x100 pictures halve evenly only 2 times, to 25x25, so the conv model has 2 convolutions and a 40000-wide input/);
  });

  it('is silent for sides that halve down to 4-7, for given widths and for MLPs', () => {
    for (const side of [28, 32, 48, 64, 256]) expect(coarseConvWarning(conv(side), false), `${side}`).toBeNull();
    expect(coarseConvWarning(conv(28, 1), false), 'MNIST-sized grey pictures').toBeNull();
    expect(coarseConvWarning(conv(30, 3, [16]), true)).toBeNull();
    expect(coarseConvWarning(resolveConfig({}), false)).toBeNull();
  });
});
