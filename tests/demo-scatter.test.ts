// The latent scatter's axes (demo/ui/scatter.ts): tick spacing 1, 2, 5, 10, ... so that at most
// 6 labels a side fit under the plot, where a dSprites code spanning +-16 had labelled every unit
// and its labels ran together.
import { describe, expect, it } from 'vitest';
import { tickStep } from '../demo/ui/scatter';

describe('the scatter plot\'s tick spacing', () => {
  it('is the smallest of 1, 2, 5, 10, ... that leaves at most 6 ticks a side', () => {
    expect([2.5, 6, 7, 12, 13, 16, 30, 31, 60, 61].map(tickStep)).toEqual([1, 1, 2, 2, 5, 5, 5, 10, 10, 20]);
    for (let extent = 2.5; extent < 500; extent += 0.5) {
      const step = tickStep(extent);
      expect(extent / step).toBeLessThanOrEqual(6);
      expect(Math.floor(extent / step), `extent ${extent}: at least one tick a side`).toBeGreaterThanOrEqual(1);
    }
  });
});
