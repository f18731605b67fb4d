// The demo's dSprites (demo/worker/generated.ts): the training split carries no pixels, only
// its count and shape labels, and hands its picture indices to the GPU rasterizer; the indices
// and test pictures are those of the CLI's split (the same seed gives the same pictures); any
// size up to the whole set's training share is accepted and one past it is refused with the fix.
import { describe, expect, it } from 'vitest';
import { dspritesSplits } from '../demo/worker/generated';
import { DSPRITES_COUNT, dspritesDataset } from '../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColorDataset } from '../src/data/dsprites-color';
import { splitGenerated, TEST_RESERVE_SHARE } from '../src/data/index-permutation';

describe('the demo draws dSprites training pictures on the GPU', () => {
  for (const colour of [false, true]) {
    const what = colour ? 'colour' : 'grey';
    it(`keeps indices and labels, not pixels, of the CLI's split (${what})`, () => {
      const total = colour ? DSPRITES_COLOR_COUNT : DSPRITES_COUNT;
      const { train, test, drawn } = dspritesSplits(colour, 3000, 5);
      const want = splitGenerated(total, 3000, 500, 5);
      expect(train.images.length, 'no training pixels are stored').toBe(0);
      expect(train.count).toBe(3000);
      expect([train.channels, train.rows, train.cols]).toEqual([colour ? 3 : 1, 64, 64]);
      expect(drawn.colour).toBe(colour);
      expect(Array.from(drawn.indices)).toEqual(Array.from(want.train));
      // The labels a conditional model sees are the shapes the rendered set would carry.
      const rendered = (colour ? dspritesColorDataset : dspritesDataset)(want.train.subarray(0, 300));
      expect(Array.from(train.labels.subarray(0, 300))).toEqual(Array.from(rendered.labels));
      expect(new Set(train.labels).size, 'all three shapes occur').toBe(3);
      // The test pictures are rendered, since the views read them.
      const testWant = (colour ? dspritesColorDataset : dspritesDataset)(want.test);
      expect(test.count).toBe(500);
      expect(Buffer.from(test.images).equals(Buffer.from(testWant.images))).toBe(true);
    });
  }

  it('takes the whole grey training share and refuses one more, naming the ceiling', () => {
    const most = DSPRITES_COUNT - Math.floor(DSPRITES_COUNT * TEST_RESERVE_SHARE);
    const { train, drawn } = dspritesSplits(false, most, 0);
    expect(train.count).toBe(most);
    expect(new Set(drawn.indices).size, 'distinct pictures').toBe(most);
    expect(() => dspritesSplits(false, most + 1, 0)).toThrow(`set Training examples to at most ${most.toLocaleString('en')}`);
    expect(() => dspritesSplits(true, 0, 0)).toThrow(/trains on 1 to 1,000,000 examples \(got 0\)/);
    // A setting out of range: the page titles it as the other field errors ("Check the settings").
    expect(() => dspritesSplits(true, 0, 0)).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });
});
