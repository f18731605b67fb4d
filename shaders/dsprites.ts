// dSprites rasterized on the GPU, straight into a batch buffer: row r of x becomes example
// indices[r] of the generated set, as grey levels / 255 like gather_batch's output (0 or 1 for the
// grey set; planar RGB for the colour set). The pictures follow the rule documented in
// src/data/dsprites.ts (factor order, geometry, 4x4 samples per pixel, on at 8 or more inside),
// whose CPU renderer is this kernel's reference; the tables below are shared with it.
//
// The GPU computes in f32 where the reference uses f64, so a sample lying within f32 rounding of a
// shape's edge can fall the other way: a pixel whose reference count is 7 or 8 of 16 may differ.
// Rows whose index is out of range (e.g. 0xffffffff for batch padding) are written as zeros.
// Bindings: indices (read, u32 per row), x (write); gathered: params (uniform), indices (the
// set's picture index of each example), perm (the epoch's order), x.
// Grid: one invocation per pixel of every row (all three channels of a colour pixel together).
import { checkShape, declareBindings, f32Literal, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { wgsl } from './wgsl';

const DSPRITES_WORKGROUP = 256;

/** Side of the square pictures. */
export const DSPRITES_SIDE = 64;
/** Rotations per full turn. */
export const DSPRITES_ORIENTATIONS = 40;
/** Pictures in the grey set: 3 shapes x 6 scales x 40 orientations x 32 x 32 positions. */
export const DSPRITES_GREY_COUNT = 3 * 6 * DSPRITES_ORIENTATIONS * 32 * 32;

const snap = (x: number) => Math.round(x * 2 ** 20) / 2 ** 20;
/** cos and sin of 2 pi k / 40, rounded to multiples of 2^-20 (exact in f32 and f64 alike). */
export const DSPRITES_COS = Array.from({ length: DSPRITES_ORIENTATIONS }, (_, k) => snap(Math.cos((2 * Math.PI * k) / DSPRITES_ORIENTATIONS)));
export const DSPRITES_SIN = Array.from({ length: DSPRITES_ORIENTATIONS }, (_, k) => snap(Math.sin((2 * Math.PI * k) / DSPRITES_ORIENTATIONS)));
/** Shape radius in pixels for scale index k: 11 * (0.5, 0.6, ..., 1.0). */
export const dspritesRadius = (k: number) => 11 * (0.5 + 0.1 * k);

/** Hue k (60k degrees) turns on these of R, G, B. */
export const DSPRITES_HUE_CHANNELS = [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]] as const;
/** Channel levels [off, on] of the shape and of the background. */
export const DSPRITES_SHAPE_LEVELS = [0, 255] as const;
export const DSPRITES_BACKGROUND_LEVELS = [32, 96] as const;

export interface DspritesRasterParams {
  rows: number;
  /** The colour set (index = (shapeHue * 6 + backgroundHue) * grey count + grey index). */
  colour?: boolean;
  /**
   * Draw row r as example perm[params.batch_start + r] of a data set whose picture indices are
   * `indices` (bindings params, indices, perm, x), as gather_batch does for stored pictures:
   * rows past params.valid_rows or the set's end are zero. Without it, row r is indices[r].
   */
  gathered?: boolean;
}

const f32Array = (values: number[]) => `array<f32, ${values.length}>(${values.map(f32Literal).join(', ')})`;

/** Per-hue RGB levels / 255 as a WGSL array of vec3. */
function paletteWgsl(levels: readonly number[]): string {
  const colours = DSPRITES_HUE_CHANNELS.map((on) => `vec3<f32>(${on.map((o) => f32Literal(levels[o] / 255)).join(', ')})`);
  return `array<vec3<f32>, ${colours.length}>(${colours.join(', ')})`;
}

export function dspritesRaster(p: DspritesRasterParams): Kernel {
  const { rows } = p;
  const colour = !!p.colour, gathered = !!p.gathered;
  checkShape('dsprites_raster', { rows });
  const pixels = DSPRITES_SIDE * DSPRITES_SIDE;
  const count = colour ? 36 * DSPRITES_GREY_COUNT : DSPRITES_GREY_COUNT;
  const bindings = gathered ? [uniform(), read('indices', 'array<u32>'), read('perm', 'array<u32>'), write('x')] : [read('indices', 'array<u32>'), write('x')];
  const code = wgsl`
#if ${gathered}
${STEP_PARAMS.wgsl}
#endif
${declareBindings(bindings)}

// Private variables rather than constants: every compiler accepts them indexed at run time.
var<private> COS: array<f32, ${DSPRITES_ORIENTATIONS}> = ${f32Array(DSPRITES_COS)};
var<private> SIN: array<f32, ${DSPRITES_ORIENTATIONS}> = ${f32Array(DSPRITES_SIN)};
var<private> RADIUS: array<f32, 6> = ${f32Array([0, 1, 2, 3, 4, 5].map(dspritesRadius))};
var<private> SHAPE_RGB: array<vec3<f32>, 6> = ${paletteWgsl(DSPRITES_SHAPE_LEVELS)};
var<private> BACKGROUND_RGB: array<vec3<f32>, 6> = ${paletteWgsl(DSPRITES_BACKGROUND_LEVELS)};

// Whether shape-space point (u, v) is inside: square, ellipse (semi-axes 1 and 1/2), heart.
fn inside(shape: u32, u: f32, v: f32) -> bool {
  if (shape == 0u) { return abs(u) <= 1.0 && abs(v) <= 1.0; }
  if (shape == 1u) { return u * u + 4.0 * v * v <= 1.0; }
  let s = 1.15 * u;
  let t = 0.1 - 1.15 * v;
  let q = s * s + t * t - 1.0;
  return q * q * q - s * s * t * t * t <= 0.0;
}

@compute @workgroup_size(${DSPRITES_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(DSPRITES_WORKGROUP)};
  if (i >= ${rows * pixels}u) { return; }
  let row = i / ${pixels}u;
  let pixel = i % ${pixels}u;
#if ${gathered}
  // Padding rows and slots past the set's end read as an index out of range (zeros).
  let slot_real = row < params.valid_rows && params.batch_start + row < params.dataset_count;
  let index = select(0xffffffffu, indices[perm[min(params.batch_start + row, params.dataset_count - 1u)]], slot_real);
#else
  let index = indices[row];
#endif
  var on = false;
  let valid = index < ${count}u;
  if (valid) {
    let grey = index % ${DSPRITES_GREY_COUNT}u;
    let pos_y = grey % 32u;
    let pos_x = (grey / 32u) % 32u;
    let orientation = (grey / 1024u) % ${DSPRITES_ORIENTATIONS}u;
    let scale = (grey / 40960u) % 6u;
    let shape = grey / 245760u;
    let r = RADIUS[scale];
    let c = COS[orientation];
    let s = SIN[orientation];
    let cx = 16.5 + f32(pos_x);
    let cy = 16.5 + f32(pos_y);
    let px = f32(pixel % ${DSPRITES_SIDE}u);
    let py = f32(pixel / ${DSPRITES_SIDE}u);
    var hits = 0u;
    for (var b = 0u; b < 4u; b++) {
      let dy = py + (f32(b) + 0.5) / 4.0 - cy;
      for (var a = 0u; a < 4u; a++) {
        let dx = px + (f32(a) + 0.5) / 4.0 - cx;
        if (inside(shape, (dx * c + dy * s) / r, (dy * c - dx * s) / r)) { hits++; }
      }
    }
    on = hits >= 8u;
  }
${colour ? `  let hues = index / ${DSPRITES_GREY_COUNT}u;
  var rgb = vec3<f32>(0.0);
  if (valid) { rgb = select(BACKGROUND_RGB[hues % 6u], SHAPE_RGB[hues / 6u], on); }
  let base = row * ${3 * pixels}u + pixel;
  x[base] = rgb.x;
  x[base + ${pixels}u] = rgb.y;
  x[base + ${2 * pixels}u] = rgb.z;` : `  x[i] = select(0.0, 1.0, on);`}
}`;
  // Gathered, indices and perm are the data set's, whose size only params.dataset_count knows.
  const minBytes = minBindingBytes(bindings, { indices: gathered ? 1 : rows, perm: 1, x: rows * pixels * (colour ? 3 : 1) });
  return { name: `dsprites_raster${colour ? '_colour' : ''}${gathered ? '_gathered' : ''}`, code, bindings, minBytes, workgroups: grid1D(rows * pixels, DSPRITES_WORKGROUP) };
}
