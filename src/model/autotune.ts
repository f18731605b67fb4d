// Matmul kernels chosen by measurement. `autotuneMatmuls` compiles the candidate variants and tile
// sizes for each product of a graph, times each on the device, and keeps the fastest; the choice
// overrides the per-adapter defaults of kernel-choice.ts for that product only. Results are cached per
// adapter (AutotuneCache: IndexedDB in browsers, memory by default in Node, a JSON file with
// fileAutotuneCache() as the command line uses), keyed by the adapter and
// by the WGSL of every candidate, so a change to any kernel's source measures again.
//
//   quick  the default tile of each variant, within a time budget of 1 s, compiles included (one
//          that outlasts it goes on into the pipeline cache untimed); a product whose candidates
//          were not all timed keeps the default. It reads a cached `full` result first. On
//          SwiftShader a compile alone takes 0.3-3 s, so there quick decides little unless the
//          cache already holds the answer.
//   full   every variant with a ladder of tiles (blocks, BK 8-32, outputs per invocation), and
//          the shape-generic form of each variant at its default tile and of each register tile.
// A candidate the device refuses (it does not compile, or exceeds a limit: autotune-timing.ts)
// is skipped, and counts as measured.
// A shape-generic candidate within GENERIC_SLACK of the fastest is kept in its place: one generic
// pipeline serves every product of its kind and epilogue, so a tuned model's first step compiles
// fewer kernels (on SwiftShader a specialized 8x16 block takes 1-3 s to compile) for a step time
// inside the measurement's own noise.
import { describeAdapter, type AcquiredDevice } from '../gpu/device';
import { ourLabel } from '../gpu/labels';
import { isTiled, matmul, MATMUL_TILES, MATMUL_VARIANTS, matmulVariantNeedsSubgroups, matmulWorkgroupBytes, matmulTile, type MatmulParams, type MatmulTile, type MatmulVariant } from '../../shaders/matmul';
import type { Kernel } from '../../shaders/common';
import type { PipelineCache } from '../gpu/pipelines';
import { KernelGraph } from '../graph';
import { compiledWithin, refuseLostDevice, refusesCandidate, timeBuiltGraph } from './autotune-timing';
import type { KernelChoice } from './kernel-choice';
import type { ConvMethod } from './layers/conv-ops';
import { BufferUsage } from '../gpu/webgpu-flags';

export type AutotuneMode = 'off' | 'quick' | 'full';
export const AUTOTUNE_MODES: readonly AutotuneMode[] = ['off', 'quick', 'full'];

/** The product a matmul computes: shape and transposes (the epilogue costs O(MN) and is left out). */
export interface MatmulProduct {
  M: number; N: number; K: number; transA: boolean; transB: boolean;
  /**
   * The graph runs it skipping an operand's zeros (matmul `skipZeros`), which only register
   * variants do: it is tuned among those, since a tiled winner, timed dense, would give up the
   * skipped steps (about 45% of the first layer's on MNIST).
   */
  skipsZeros?: boolean;
}

/** How one product is computed: a variant, optionally its tile and whether its sizes sit in a uniform. */
export interface MatmulTuning { variant: MatmulVariant; tile?: Partial<MatmulTile>; generic?: boolean }

/** One product's measured choice. */
export interface TunedProduct extends MatmulTuning { ms: number; candidates: number }

/** One convolution operation's measured method (autotune-conv.ts). */
export interface TunedConv { method: ConvMethod; ms: number; candidates: number }

/** What the cache holds under a key: a product's choice, or (keys starting `conv|`) a convolution's. */
export type AutotuneRecord = TunedProduct | TunedConv;

export interface AutotuneCache {
  get(key: string): Promise<AutotuneRecord | undefined>;
  set(key: string, value: AutotuneRecord): Promise<void>;
}

/** The product's shape alone, as matmul() takes it. */
const productShape = ({ M, N, K, transA, transB }: MatmulProduct) => ({ M, N, K, transA, transB });

export const productKey = (p: MatmulProduct) => `${p.M}x${p.N}x${p.K}${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}`;

/** The matmul options for one product: the autotuned choice if there is one, else the adapter's default. */
export function matmulOptionsFor(k: KernelChoice, p: MatmulProduct): Pick<MatmulParams, 'variant' | 'tile' | 'generic' | 'subgroups'> {
  const tuned = k.matmulTuned?.[productKey(p)];
  // A tile always, if only the variant's default: a measured choice, which hotMatmul leaves as it is.
  if (tuned) return { variant: tuned.variant, tile: tuned.tile ?? {}, generic: tuned.generic ?? false, subgroups: k.subgroups };
  return { variant: k.matmul, generic: k.matmulGeneric ?? false, subgroups: k.subgroups };
}

/** Every matmul product a graph's kernels compute (matmul kernels carry their parameters). */
export function matmulProducts(kernels: readonly Kernel[]): MatmulProduct[] {
  const seen = new Map<string, MatmulProduct>();
  for (const k of kernels) {
    const p = (k as Kernel & { matmul?: MatmulParams }).matmul;
    if (!p) continue;
    const product: MatmulProduct = { M: p.M, N: p.N, K: p.K, transA: !!p.transA, transB: !!p.transB };
    const skipsZeros = !!p.skipZeros || !!seen.get(productKey(product))?.skipsZeros;
    seen.set(productKey(product), skipsZeros ? { ...product, skipsZeros } : product);
  }
  return [...seen.values()];
}

/** How much slower than the fastest a shape-generic candidate may be and still be chosen. */
export const GENERIC_SLACK = 1.05;

/**
 * The choice among timed candidates: the fastest, unless a shape-generic one is within
 * GENERIC_SLACK of it, in which case the fastest such generic one.
 */
export function chooseCandidate<T extends { generic?: boolean; ms: number }>(timed: readonly T[]): T | null {
  if (!timed.length) return null;
  const fastest = timed.reduce((a, b) => (b.ms < a.ms ? b : a));
  if (fastest.generic) return fastest;
  const generic = timed.filter((t) => t.generic && t.ms <= fastest.ms * GENERIC_SLACK);
  return generic.length ? generic.reduce((a, b) => (b.ms < a.ms ? b : a)) : fastest;
}

/** The candidates for a device: what `mode` tries, within the device's limits and features. */
export function matmulCandidates(mode: AutotuneMode, device: { features: GPUSupportedFeatures; limits: GPUSupportedLimits }, isSoftware: boolean, skipsZeros = false): MatmulTuning[] {
  const list: MatmulTuning[] = [];
  const softwareFirst: MatmulVariant[] = ['register-subgroup', 'register', 'tiled-vec4', 'tiled-128', 'tiled-subgroup', 'tiled-double', 'tiled-prefetch', 'tiled'];
  const gpuFirst: MatmulVariant[] = ['tiled-prefetch', 'tiled-128', 'tiled-double', 'tiled-vec4', 'tiled-subgroup', 'tiled', 'register-subgroup', 'register'];
  // Software adapters default to generic register kernels (fewer compiles): those come first.
  if (isSoftware) list.push({ variant: 'register-subgroup', generic: true }, { variant: 'register', generic: true });
  for (const variant of isSoftware ? softwareFirst : gpuFirst) list.push({ variant });
  if (mode === 'full') {
    for (const [TM, TN, UNROLL_K] of [[8, 16, 4], [8, 16, 1], [4, 8, 1], [8, 8, 2], [4, 32, 1]]) list.push({ variant: 'register-subgroup', tile: { TM, TN, UNROLL_K } });
    for (const [TM, TN, UNROLL_K] of [[4, 4, 1], [4, 8, 2], [8, 16, 1]]) list.push({ variant: 'register', tile: { TM, TN, UNROLL_K } });
    // Register kernels read vec4s by default where a side allows; their scalar loads, and the
    // tile the quick-tuned step favoured before vec4s, stay candidates.
    list.push({ variant: 'register-subgroup', tile: { VEC4: false } }, { variant: 'register', tile: { VEC4: false } }, { variant: 'register-subgroup', tile: { TM: 8, TN: 8, UNROLL_K: 2, VEC4: false } });
    for (const TILE_K of [8, 16, 32]) {
      list.push({ variant: 'tiled-vec4', tile: { TILE_K } }, { variant: 'tiled-128', tile: { TILE_K } });
      list.push({ variant: 'tiled-vec4', tile: { TM: 8, TN: 8, WGX: 8, WGY: 8, TILE_K } }, { variant: 'tiled-128', tile: { TM: 8, TN: 8, WGX: 16, WGY: 8, TILE_K } });
      // Double-buffered tiles take twice the workgroup memory: past 16 KiB only where the device allows it.
      list.push({ variant: 'tiled-double', tile: { TILE_K } }, { variant: 'tiled-double', tile: { TM: 4, TN: 4, TILE_K } });
      list.push({ variant: 'tiled-prefetch', tile: { TILE_K } }, { variant: 'tiled-prefetch', tile: { WGY: 8, TILE_K } });
    }
    list.push({ variant: 'tiled-subgroup', tile: { TILE_K: 16, WGX: 8, WGY: 16 } });
    list.push(...list.filter((c) => !c.tile || !isTiled(c.variant)).map((c) => ({ ...c, generic: true })));
  }
  const seen = new Set<string>();
  return list.filter((c) => fits(c, device) && !(skipsZeros && isTiled(c.variant)) && !seen.has(JSON.stringify(c)) && !!seen.add(JSON.stringify(c)));
}

/**
 * A cached record as a product's choice, or undefined (a miss, measured again) when it is not one
 * this device can run: a cache file edited by hand, or written by another version of the library.
 */
function usableRecord(r: AutotuneRecord | undefined, device: { features: GPUSupportedFeatures; limits: GPUSupportedLimits }): TunedProduct | undefined {
  if (!r || typeof r !== 'object' || !('variant' in r) || !MATMUL_VARIANTS.includes(r.variant) || typeof r.ms !== 'number') return undefined;
  if (r.tile !== undefined && (typeof r.tile !== 'object' || r.tile === null)) return undefined;
  try {
    return fits(r, device) ? r : undefined;
  } catch {
    return undefined; // a tile matmulTile refuses
  }
}

function fits(c: MatmulTuning, device: { features: GPUSupportedFeatures; limits: GPUSupportedLimits }): boolean {
  if (matmulVariantNeedsSubgroups(c.variant) && !device.features.has('subgroups')) return false;
  const t = matmulTile(c.variant, c.tile);
  if (t.WGX * t.WGY > device.limits.maxComputeInvocationsPerWorkgroup) return false;
  // A tiled kernel's workgroup is one row of WGX * WGY invocations (@workgroup_size(WGX * WGY)),
  // a register kernel's WGX x WGY.
  const [x, y] = isTiled(c.variant) ? [t.WGX * t.WGY, 1] : [t.WGX, t.WGY];
  if (x > device.limits.maxComputeWorkgroupSizeX || y > device.limits.maxComputeWorkgroupSizeY) return false;
  return matmulWorkgroupBytes(c.variant, t) <= device.limits.maxComputeWorkgroupStorageSize;
}

/** FNV-1a over strings, as 8 hex digits: a short key for the candidates' source. */
export function sourceHash(parts: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const s of parts) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The adapter part of the cache keys: the adapter's description, and whether the device's shaders
 * run without WebGPU's bounds checks (acquireNodeDevice's boundsChecks), since the clamps change
 * which kernel is fastest: the same adapter keeps one set of choices for each.
 */
export function autotuneAdapterKey(acquired: Pick<AcquiredDevice, 'adapter' | 'boundsChecks'>): string {
  return `${describeAdapter(acquired.adapter)}${acquired.boundsChecks === false ? ' (no bounds checks)' : ''}`;
}

export interface AutotuneOptions {
  mode: AutotuneMode;
  /** Text that identifies the adapter (vendor, architecture, device, description). */
  adapterKey: string;
  isSoftware: boolean;
  cache?: AutotuneCache;
  /** Wall-clock budget in ms; default 1000 for quick, unlimited for full. */
  budgetMs?: number;
  /** Called as each product is decided. */
  onProduct?: (key: string, choice: TunedProduct, fromCache: boolean) => void;
  /** Once aborted, no further candidate is timed (as if the budget ran out): what is cached still counts. */
  signal?: AbortSignal;
  /** Called for each candidate the device refuses (refusesCandidate), which is then skipped. */
  onRefused?: (candidate: string, error: Error) => void;
}

/**
 * Times `tuning` on one product: ms per dispatch, the fastest of a few timed batches of dispatches;
 * null when its compile outlasts `left()` (the budget is spent).
 */
async function timeCandidate(pipelines: PipelineCache, p: MatmulProduct, tuning: MatmulTuning, buffers: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer }, left: () => number, perCandidateMs: number): Promise<number | null> {
  const { device } = pipelines;
  const kernel = matmul({ ...productShape(p), ...tuning, subgroups: device.features.has('subgroups') });
  const graph = new KernelGraph(`autotune:${kernel.name}`);
  graph.add(kernel, buffers);
  if (!(await compiledWithin(pipelines, [kernel], left()))) return null;
  await graph.build(pipelines);
  const budget = Math.min(left(), perCandidateMs);
  try {
    return await timeBuiltGraph(device, graph, budget);
  } finally {
    graph.releaseConstants(); // also when timing fails (a lost device, say): the uniforms belong to no arena
  }
}

/**
 * The fastest candidate for each product, from the cache where it has the answer. Returns the
 * choices by product key; a product without a measurement is left out (it keeps the default).
 */
export async function autotuneMatmuls(pipelines: PipelineCache, products: readonly MatmulProduct[], opts: AutotuneOptions): Promise<Record<string, TunedProduct>> {
  const { device } = pipelines;
  const chosen: Record<string, TunedProduct> = {};
  if (opts.mode === 'off') return chosen;
  const t0 = performance.now();
  const budget = opts.budgetMs ?? (opts.mode === 'quick' ? 1000 : Infinity);
  const left = () => (opts.signal?.aborted ? 0 : budget - (performance.now() - t0));
  for (const p of products) {
    const candidates = matmulCandidates(opts.mode, device, opts.isSoftware, p.skipsZeros);
    const sourceFor = (c: MatmulTuning) => matmul({ ...productShape(p), ...c, subgroups: device.features.has('subgroups') }).code;
    const keyOf = (mode: AutotuneMode) => {
      const sources = matmulCandidates(mode, device, opts.isSoftware, p.skipsZeros).map(sourceFor);
      return `${opts.adapterKey}|${productKey(p)}|${mode}|${sourceHash(sources)}`;
    };
    const key = keyOf(opts.mode);
    const cached = (opts.mode === 'quick' ? usableRecord(await opts.cache?.get(keyOf('full')), device) : undefined) ?? usableRecord(await opts.cache?.get(key), device);
    if (cached) {
      chosen[productKey(p)] = cached;
      opts.onProduct?.(productKey(p), cached, true);
      continue;
    }
    if (left() <= 0) continue;
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST;
    const buffers = {
      a: device.createBuffer({ label: ourLabel('autotune:a'), size: Math.max(16, p.M * p.K * 4), usage }),
      b: device.createBuffer({ label: ourLabel('autotune:b'), size: Math.max(16, p.K * p.N * 4), usage }),
      c: device.createBuffer({ label: ourLabel('autotune:c'), size: Math.max(16, p.M * p.N * 4), usage }),
    };
    const timed: TunedProduct[] = [];
    let refused = 0, same = 0;
    // Candidates that differ only where this product does not look (scalar or vec4 loads and
    // stores in a weight gradient whose N is not a multiple of 4, which reads and stores scalars
    // either way) build the same kernel: it is timed once.
    const sources = new Set<string>();
    const sourceOf = (c: MatmulTuning) => {
      try { return sourceFor(c); } catch { return null; }
    };
    try {
      for (const c of candidates) {
        if (left() <= 0) break;
        const source = sourceOf(c);
        if (source !== null && sources.has(source)) {
          same++;
          continue;
        }
        if (source !== null) sources.add(source);
        let ms: number | null;
        try {
          ms = await timeCandidate(pipelines, p, c, buffers, left, opts.mode === 'quick' ? 50 : 200);
        } catch (e) {
          if (!refusesCandidate(e)) throw e;
          refused++;
          opts.onRefused?.(`${productKey(p)} ${describeTuning(c)}`, e);
          continue;
        }
        if (ms === null) break;
        timed.push({ ...c, ms, candidates: 0 });
      }
    } finally {
      Object.values(buffers).forEach((b) => b.destroy());
    }
    // Only a complete measurement decides (and is cached): the best of a partial one may be a
    // candidate that loses to one never timed, e.g. a specialized kernel where the default is generic.
    // A refused candidate counts as measured: it can never be chosen.
    await refuseLostDevice(device);
    const best = chooseCandidate(timed);
    if (!best || timed.length + refused + same < candidates.length) continue;
    best.candidates = timed.length;
    chosen[productKey(p)] = best;
    opts.onProduct?.(productKey(p), best, false);
    await opts.cache?.set(key, best);
  }
  return chosen;
}

/** A choice in words for reports, e.g. `tiled-128 128x128 BK8 8x8/thread`. */
export const describeTuning = (t: MatmulTuning) => {
  const tile = { ...MATMUL_TILES[t.variant], ...t.tile };
  const size = isTiled(t.variant) ? `${tile.TM * tile.WGY}x${tile.TN * tile.WGX} BK${tile.TILE_K} ${tile.TM}x${tile.TN}/thread` : `${tile.TM}x${tile.TN}/thread unroll ${tile.UNROLL_K}`;
  return `${t.variant} ${size}${!isTiled(t.variant) && t.tile?.VEC4 === false ? ' scalar loads' : ''}${t.generic ? ' generic' : ''}`;
};
