// No invocation of a tiled matmul writes one component of a vec4 in workgroup memory. WGSL lets
// such a write access the whole vector (gpuweb#2152), and Metal compiles it to a read-modify-write
// of all four: invocations that stage neighbouring entries of one tile vec4 at once then overwrite
// each other's (MoltenVK#942). SwiftShader and lavapipe store the one float, so the numeric tests
// cannot see it; the generated WGSL of every tiled variant, operand layout and load width is
// checked here instead. With component writes rewritten as Metal's read-modify-write, the old
// staging code gave 12,268 of 16,384 wrong entries on lavapipe (tiled-vec4, 128x128x64, A·Bᵀ).
import { describe, expect, it } from 'vitest';
import { isTiled, matmul, MATMUL_VARIANTS, type MatmulParams } from '../shaders/matmul';

/** Statements that write part of a workgroup tile vector: `tileA[i][c] = ...`, `tileB[i].x = ...`. */
const COMPONENT_STORE = /\btile[AB]\[[^;\n]*?\](?:\[[^\]\n]+\]|\.[xyzw]) =/g;

describe('tiled matmuls stage workgroup tiles in whole vectors', () => {
  const shapes: [number, number, number][] = [[128, 128, 64], [128, 30, 50], [33, 17, 9]];
  for (const variant of MATMUL_VARIANTS.filter(isTiled)) {
    it(variant, () => {
      let kernels = 0;
      for (const [M, N, K] of shapes) {
        for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
          for (const generic of [false, true]) {
            const p: MatmulParams = { M, N, K, transA, transB, variant, generic, subgroups: variant === 'tiled-subgroup' };
            const { code } = matmul(p);
            expect(code, `${variant} ${M}x${N}x${K} transA ${transA} transB ${transB} generic ${generic}`).toMatch(/var<workgroup> tileA/);
            expect(code.match(COMPONENT_STORE) ?? [], `${variant} ${M}x${N}x${K} transA ${transA} transB ${transB} generic ${generic}`).toEqual([]);
            kernels++;
          }
        }
      }
      expect(kernels).toBe(shapes.length * 8);
    });
  }
  it('the check finds a component store', () => {
    expect('      tileA[((kv + 0u) * 64u + ss) / 4u][ss % 4u] = v.x;\n  tileB[i].y = 1.0;\n'.match(COMPONENT_STORE)).toHaveLength(2);
    expect('      tileA[(kk * 64u + sq) / 4u] = v;\n  let a0 = tileA[aBase + 0u];\n'.match(COMPONENT_STORE)).toBeNull();
  });
});
