// Register matmuls reading vec4s (shaders/matmul-register.ts, VEC4): each side an operand is read
// along (k or n) against the float64 product, and bit for bit against the same kernel reading
// element by element, in every operand layout (a weight gradient, transA, reads scalars),
// specialized and shape-generic, on shapes aligned in some dimensions and not others (a side
// whose length is not a multiple of 4 is read element by element), with partial last blocks, and
// with the tiles the autotuner tries.
import { describe, expect, it } from 'vitest';
import { matmul, matmulTile, type MatmulParams, type MatmulTile } from '../shaders/matmul';
import { registerVec4Axes } from '../shaders/matmul-register';
import { expectScaled, f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import { matmulRef } from './reference/dense';

const LAYOUTS = [[false, false], [false, true], [true, false]] as const;
// [M, N, K]: all aligned; M odd; N not a multiple of 4 (no vec4s along n); K not one (none along
// k); a long K with a short odd M.
const SHAPES: [number, number, number][] = [[132, 68, 64], [33, 68, 64], [132, 70, 64], [36, 48, 22], [7, 40, 400]];
const TILES: [string, Partial<MatmulTile>][] = [['default tile', {}], ['8x8 unrolled 2', { TM: 8, TN: 8, UNROLL_K: 2 }], ['8x16 unrolled 4', { TM: 8, TN: 16, UNROLL_K: 4 }]];

const subgroupsOn = async () => (await gpu()).device.features.has('subgroups');

describe.each(['register', 'register-subgroup'] as const)('register matmul with vec4 loads (%s)', (variant) => {
  for (const generic of [false, true]) {
    for (const [tileName, tile] of TILES) {
      it(`${generic ? 'generic' : 'specialized'}, ${tileName}: every layout and shape, same bits as scalar loads`, async () => {
        const subgroups = await subgroupsOn();
        let vec4Sides = 0;
        for (const [M, N, K] of SHAPES) {
          for (const [transA, transB] of LAYOUTS) {
            const base: MatmulParams = { M, N, K, transA, transB, variant, generic, subgroups, tile: { ...tile, VEC4: false } };
            const p: MatmulParams = { ...base, tile: { ...tile, VEC4: true } };
            const a = f32(testData(M * K, M + 3 * K)), b = f32(testData(K * N, N + 7 * K));
            const k = matmul(p);
            const axes = registerVec4Axes(k.matmul, matmulTile(k.matmul.variant!, k.matmul.tile));
            // The side each operand is read along, where its length is a multiple of 4.
            expect(axes.a).toBe(!transA && K % 4 === 0 ? 'k' : false);
            expect(axes.b).toBe(transA ? false : transB ? (K % 4 === 0 ? 'k' : false) : N % 4 === 0 && (k.matmul.variant === 'register' || (k.matmul.tile?.TN ?? 16) % 16 === 0) ? 'n' : false);
            vec4Sides += Number(!!axes.a) + Number(!!axes.b);
            expect(k.bindings.find((x) => x.name === 'a')?.type === 'array<vec4<f32>>').toBe(!!axes.a);
            expect(k.bindings.find((x) => x.name === 'b')?.type === 'array<vec4<f32>>').toBe(!!axes.b);
            const { c } = await runKernels([k], { a, b }, { c: M * N });
            const { c: scalar } = await runKernels([matmul(base)], { a, b }, { c: M * N });
            const label = `${k.name} ${M}x${N}x${K} transA=${transA} transB=${transB}`;
            expectScaled(c, matmulRef(a, b, M, N, K, transA, transB), matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, transA, transB), K * 2 ** -24, label);
            const first = c.findIndex((v, i) => !Object.is(v, scalar[i]));
            expect(first, `${label}: element ${first} is ${c[first]} with vec4 loads, ${scalar[first]} with scalar loads`).toBe(-1);
          }
        }
        // Along k: 4 shapes x (A in NN, A and B in NT); along n, 4 more where the tile allows.
        expect(vec4Sides).toBeGreaterThanOrEqual(12);
      });
    }
  }
});

describe('which sides a register matmul reads as vec4s', () => {
  const tile = (variant: 'register' | 'register-subgroup', o: Partial<MatmulTile> = {}) => matmulTile(variant, { ...o, VEC4: true });
  it('the contiguous side of each operand, when its length is a multiple of 4', () => {
    expect(registerVec4Axes({ M: 128, N: 400, K: 784, transB: true }, tile('register-subgroup'))).toEqual({ a: 'k', b: 'k' });
    expect(registerVec4Axes({ M: 128, N: 784, K: 400 }, tile('register-subgroup'))).toEqual({ a: 'k', b: 'n' });
    expect(registerVec4Axes({ M: 128, N: 794, K: 400 }, tile('register-subgroup'))).toEqual({ a: 'k', b: false });
    expect(registerVec4Axes({ M: 128, N: 784, K: 402 }, tile('register'))).toEqual({ a: false, b: 'n' });
  });
  it('none with VEC4 off, in weight gradients, for f16 operands, along a listed k (skipZeros), or where a tile does not hold whole vec4s', () => {
    expect(registerVec4Axes({ M: 400, N: 784, K: 128, transA: true }, tile('register-subgroup'))).toEqual({ a: false, b: false });
    expect(registerVec4Axes({ M: 128, N: 400, K: 784, transB: true }, matmulTile('register-subgroup', { VEC4: false }))).toEqual({ a: false, b: false });
    expect(registerVec4Axes({ M: 128, N: 400, K: 784, transB: true, f16: ['a', 'b'] }, tile('register-subgroup'))).toEqual({ a: false, b: false });
    expect(registerVec4Axes({ M: 128, N: 400, K: 784, transB: true, skipZeros: 'a' }, tile('register-subgroup'))).toEqual({ a: false, b: false });
    expect(registerVec4Axes({ M: 128, N: 784, K: 400, skipZeros: 'b' }, tile('register-subgroup'))).toEqual({ a: false, b: 'n' });
    // A quad's lanes read whole vec4s of a 16-column strip each k step: 8 columns are read one by one.
    expect(registerVec4Axes({ M: 128, N: 784, K: 400 }, tile('register-subgroup', { TM: 2, TN: 8 }))).toEqual({ a: 'k', b: false });
    expect(registerVec4Axes({ M: 128, N: 784, K: 400 }, tile('register', { TM: 4, TN: 4 }))).toEqual({ a: 'k', b: 'n' });
  });
});

describe('a register-subgroup tile', () => {
  it('is one 4-lane row: other workgroup shapes of 4 lanes are refused, not left half unwritten', () => {
    for (const [WGX, WGY] of [[2, 2], [1, 4]]) {
      expect(() => matmul({ M: 64, N: 40, K: 8, variant: 'register-subgroup', subgroups: true, tile: { WGX, WGY } })).toThrow(new RegExp(`must be one 4-lane subgroup, WGX 4 and WGY 1 \\(got ${WGX}x${WGY}\\)`));
    }
  });
});
