// Reference dSprites rasterizer written from the rule stated in src/data/dsprites.ts (not from its
// code): every pixel of the 64x64 picture, 4x4 samples each, at least 8 inside makes it 255.
// It visits all 4096 pixels (no bounding box) and keeps the factors as plain numbers.

const snap = (x: number) => Math.round(x * 2 ** 20) / 2 ** 20;

function insideShape(shape: number, u: number, v: number): boolean {
  switch (shape) {
    case 0:
      return Math.max(Math.abs(u), Math.abs(v)) <= 1;
    case 1:
      return u * u + (2 * v) * (2 * v) <= 1;
    default: {
      const s = 1.15 * u;
      const t = 0.1 - 1.15 * v;
      return (s * s + t * t - 1) ** 3 <= s * s * t ** 3;
    }
  }
}

export function referenceDsprite(shape: number, scale: number, orientation: number, posX: number, posY: number): Uint8Array {
  const theta = (2 * Math.PI * orientation) / 40;
  const cos = snap(Math.cos(theta));
  const sin = snap(Math.sin(theta));
  const radius = 11 * (0.5 + 0.1 * scale);
  const out = new Uint8Array(64 * 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      let count = 0;
      for (const sy of [0.125, 0.375, 0.625, 0.875]) {
        for (const sx of [0.125, 0.375, 0.625, 0.875]) {
          const dx = x + sx - (16.5 + posX);
          const dy = y + sy - (16.5 + posY);
          if (insideShape(shape, (dx * cos + dy * sin) / radius, (dy * cos - dx * sin) / radius)) count++;
        }
      }
      out[y * 64 + x] = count >= 8 ? 255 : 0;
    }
  }
  return out;
}
