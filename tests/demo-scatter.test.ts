// The latent scatter's axes (demo/ui/scatter.ts): tick spacing 1, 2, 5, 10, ... so that at most
// 6 labels a side fit under the plot, where a dSprites code spanning +-16 had labelled every unit
// and its labels ran together.
import { describe, expect, it } from 'vitest';
import { classMarker, PALETTE, tickStep } from '../demo/ui/scatter';

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

/** CIELAB of an sRGB colour '#rrggbb' (D65). */
function lab(hex: string): [number, number, number] {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047), y = f(0.2126 * r + 0.7152 * g + 0.0722 * b), z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

describe('the scatter plot\'s class colours', () => {
  it('are ten, every pair at least 30 apart in CIELAB', () => {
    expect(PALETTE).toHaveLength(10);
    for (let i = 0; i < PALETTE.length; i++) {
      for (let j = i + 1; j < PALETTE.length; j++) {
        const [a, b] = [lab(PALETTE[i]), lab(PALETTE[j])];
        expect(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]), `${PALETTE[i]} and ${PALETTE[j]}`).toBeGreaterThanOrEqual(30);
      }
    }
  });
});

describe('the scatter plot\'s markers past ten classes', () => {
  it('tell 30 classes apart by colour and shape, the first ten as filled dots', () => {
    const looks = Array.from({ length: 30 }, (_, label) => classMarker(label));
    expect(new Set(looks.map((l) => `${l.colour} ${l.marker}`)).size).toBe(30);
    expect(looks.slice(0, 10).every((l) => l.marker === 'dot')).toBe(true);
    expect(looks.slice(0, 10).map((l) => l.colour)).toEqual(PALETTE);
    expect([classMarker(10).marker, classMarker(20).marker]).toEqual(['ring', 'plus']);
  });
});
