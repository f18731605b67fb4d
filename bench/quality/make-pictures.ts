// Writes a folder of PNG pictures for the colour quality runs: on a background of one of 6 hues,
// shaded top to bottom, one square or disc of another hue at a random place and size. Seeded
// (Philox), so the same command writes the same files. The pictures are 40x48 (not square) and
// PNG-encoded, so a run on them also exercises the folder reader's decode, crop and resize.
//
//   npx tsx bench/quality/make-pictures.ts DIR [--n=2000] [--seed=0]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { Philox } from '../../src/rng';

const HUES: [number, number, number][] = [[220, 50, 40], [240, 190, 30], [60, 170, 70], [40, 170, 200], [60, 70, 220], [190, 60, 190]];
const W = 40, H = 48;

/** One picture: background hue b shaded by height, a shape of hue s (s != b) centred at (cx, cy) with half-size r. */
function picture(rng: Philox): Uint8Array {
  const b = rng.nextInt(HUES.length);
  const s = (b + 1 + rng.nextInt(HUES.length - 1)) % HUES.length;
  const disc = rng.nextInt(2) === 1;
  const r = rng.uniform(5, 12), cx = rng.uniform(4 + r, W - 4 - r), cy = rng.uniform(8 + r, H - 8 - r);
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
    const inside = disc ? dx * dx + dy * dy < r * r : Math.abs(dx) < r && Math.abs(dy) < r;
    const shade = inside ? 1 : 0.55 + 0.45 * (y / (H - 1));
    const hue = HUES[inside ? s : b];
    for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = Math.round(hue[c] * shade);
  }
  return data;
}

export function writePictures(dir: string, n: number, seed: number): void {
  mkdirSync(dir, { recursive: true });
  const rng = new Philox(seed, 7);
  for (let k = 0; k < n; k++) {
    writeFileSync(join(dir, `picture-${String(k).padStart(5, '0')}.png`), encode({ width: W, height: H, data: picture(rng), channels: 3, depth: 8 }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, ...flags] = process.argv.slice(2);
  if (!dir) throw new Error('usage: npx tsx bench/quality/make-pictures.ts DIR [--n=2000] [--seed=0]');
  const flag = (name: string, fallback: number) => Number(flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  writePictures(dir, flag('n', 2000), flag('seed', 0));
}
