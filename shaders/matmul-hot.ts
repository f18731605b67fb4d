// The long-run forms of a register-subgroup matmul (src/model/hot-kernels.ts swaps them into a
// training step after its first 100 steps): larger blocks, blocks cut to a small product's sides,
// or more k steps an iteration, each giving the same bits as the product's first kernel (the fmas
// keep their order). Also the width of a zero-skipping product's lists, made as wide as the larger
// blocks so that both kernels read the same list. The tiles are HOT_REGISTER_TILES and
// FITTED_TILES (matmul-register.ts); the kernels are matmul()'s (matmul.ts), whose bindings and
// constants they keep. Measurements: bench/RESULTS.md, "Hot kernels" and the sections after it.
import { matmul, matmulBlock, matmulTile, resolvedVariant, skipSide, type MatmulKernel, type MatmulParams, type MatmulTile } from './matmul';
import { FITTED_MAX_SIDE, FITTED_MIN_BLOCKS, FITTED_TILES, HOT_REGISTER_TILES, registerVec4Axes } from './matmul-register';

/**
 * The width a zero-skipping product's lists take (its `skipBlock`): that of the larger blocks the
 * product switches to once its graph has run a while (hotMatmul: HOT_REGISTER_TILES' `dense`, or
 * `denseSkippingB` for B), so that the first kernel and the larger one read the same list; undefined
 * (the kernel's own block) where hotMatmul takes no such block. A list of 32 pictures leaves fewer k out
 * than one of 16 (MNIST at batch 128: 42.5% of the forward's (block, pixel) pairs against 47.7%,
 * 30.0% of the weight gradient's (block, picture) pairs against 41.8%), but the larger blocks
 * compute the rest faster than the smaller ones skip it.
 */
export function zeroListBlock(p: MatmulParams): number | undefined {
  if (p.skipZeros === undefined || !hasHotForms(p)) return undefined;
  const { variant, tile } = resolvedVariant(p);
  const larger = p.skipZeros === 'a' ? HOT_REGISTER_TILES.dense : HOT_REGISTER_TILES.denseSkippingB;
  const side = skipSide(p, matmulTile(variant, larger));
  if (!(side > skipSide(p, tile) && side % skipSide(p, tile) === 0)) return undefined;
  // Only where hotMatmul takes that block: a product it gives smaller blocks (a batch the larger
  // ones would pad by over a tenth) keeps lists of its own width, which leave more k steps out.
  const hot = hotMatmul({ ...p, skipBlock: side });
  return hot && skipSide(p, matmulTile(variant, hot.matmul.tile)) === side ? side : undefined;
}

/** Whether hotMatmul considers `p` at all: a `register-subgroup` product (with subgroups), no tile given, f32 operands, unsplit. */
function hasHotForms(p: MatmulParams): boolean {
  return resolvedVariant(p).variant === 'register-subgroup' && p.tile === undefined && !p.f16?.length && (p.splits ?? 1) === 1;
}

/**
 * The same product with larger blocks (the first of HOT_REGISTER_TILES that fits), for a graph
 * that runs often enough to repay their longer compile; else, for a small dense product, blocks cut
 * to its sides (fittedTile); else, for a weight gradient, its own blocks with more k steps an
 * iteration (`sameBlock`); null where there is none: a variant other than `register-subgroup` (or
 * one falling back without subgroups), a tile given (the autotuner's choice, if only `{}`:
 * matmulOptionsFor), f16 operands, or a product none of these fits. A HOT_REGISTER_TILES block
 * fits where it pads by at most a tenth over the default's (16 columns, a convolution's channels,
 * padded to 32 ran im2col products 1.7x slower) and leaves at least HOT_MIN_BLOCKS workgroups (a
 * weight gradient of one 16 x 16 block, which one core computes while the others wait, ran 1.9x
 * slower as one 32 x 32 block). Bindings, constants and any zero-skipping list are `p`'s kernel's.
 */
export function hotMatmul(p: MatmulParams): MatmulKernel | null {
  if (!hasHotForms(p)) return null;
  const { variant, tile: base } = resolvedVariant(p);
  // A zero-skipping product reads its list: only blocks whose side divides the list's width.
  const listWidth = p.skipZeros === undefined ? 0 : p.skipBlock ?? skipSide(p, base);
  const tiles: Partial<MatmulTile>[] = p.skipZeros === undefined ? [...(p.transA ? [] : [HOT_REGISTER_TILES.tall]), HOT_REGISTER_TILES.dense, HOT_REGISTER_TILES.narrow]
    : (p.skipZeros === 'a' ? [HOT_REGISTER_TILES.dense, HOT_REGISTER_TILES.skipsRowsOfA] : [HOT_REGISTER_TILES.denseSkippingB, HOT_REGISTER_TILES.skipsColumnsOfB])
      .filter((t) => listWidth % skipSide(p, matmulTile(variant, t)) === 0);
  const padded = (t: MatmulTile) => {
    const { BM, BN } = matmulBlock(variant, t);
    return { blocks: Math.ceil(p.M / BM) * Math.ceil(p.N / BN), area: Math.ceil(p.M / BM) * BM * Math.ceil(p.N / BN) * BN };
  };
  const now = padded(base);
  const tile = tiles.find((t) => {
    const hot = padded(matmulTile(variant, t));
    return hot.area <= 1.1 * now.area && hot.blocks >= HOT_MIN_BLOCKS;
  });
  if (tile) return matmul({ ...p, tile });
  const fitted = fittedTile(p, base);
  if (fitted) return matmul({ ...p, tile: fitted });
  // No larger block fits: a dense weight gradient (read element by element) keeps its block and
  // takes several k steps an iteration.
  const unrolled = HOT_REGISTER_TILES.sameBlock;
  return p.transA && p.skipZeros === undefined && base.UNROLL_K < unrolled.UNROLL_K ? matmul({ ...p, tile: unrolled }) : null;
}

/**
 * A quad's block cut to a small dense product's sides (FITTED_TILES): no padded rows or columns,
 * and the most fmas per load; null for a product without a side of at most FITTED_MAX_SIDE, or
 * one no candidate tiles exactly in FITTED_MIN_BLOCKS blocks or more with the same vec4 operands
 * as `base`'s kernel (its bindings' types; B along n needs TN a multiple of 16).
 */
function fittedTile(p: MatmulParams, base: MatmulTile): Partial<MatmulTile> | null {
  if (p.skipZeros !== undefined || Math.min(p.M, p.N) > FITTED_MAX_SIDE) return null;
  const axes = JSON.stringify(registerVec4Axes(p, base));
  let best: Partial<MatmulTile> | null = null;
  for (const TM of FITTED_TILES.TM) {
    for (const TN of FITTED_TILES.TN) {
      const tile = matmulTile('register-subgroup', { TM, TN });
      const { BM, BN } = matmulBlock('register-subgroup', tile);
      const exact = p.M % BM === 0 && p.N % BN === 0 && (p.M / BM) * (p.N / BN) >= FITTED_MIN_BLOCKS && JSON.stringify(registerVec4Axes(p, tile)) === axes;
      if (exact && (!best || TM * TN > best.TM! * best.TN!)) best = { TM, TN, UNROLL_K: FITTED_TILES.UNROLL_K };
    }
  }
  return best;
}

/**
 * The fewest workgroups a product's larger blocks may leave it (hotMatmul): enough to keep a CPU's
 * cores busy. 24 lets the default model's 128 x 400 products (26 tall blocks) take them; on more
 * cores than 2 such a product runs in about as many rounds of twice the work either way.
 */
export const HOT_MIN_BLOCKS = 24;
