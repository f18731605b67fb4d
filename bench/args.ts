// Command line of `npm run bench`. With no benchmark selected, runs the default set: the train-step
// comparison (ours vs TF.js), the profile of our step and a short batch sweep.
import { nearestName } from '../src/edit-distance';
import { AUTOTUNE_MODES, type AutotuneMode } from '../src/model/autotune';
import { PRECISIONS, type Precision } from '../src/model/precision';
import { MATMUL_VARIANTS, type MatmulVariant } from '../shaders/matmul';
import { FULL_SWEEP, MATMUL_SHAPES, SHORT_SWEEP, SKIP_ZEROS, type BenchEnv, type BenchOptions, type Impl, type MatmulShapes, type SkipZeros } from './common';
import { MIN_SOAK_SAMPLES } from './soak-verdict';

/** `--soak`: a long training run sampled for leaks and drift (bench/soak.ts). */
export interface SoakArgs {
  steps: number;
  evalEvery: number;
  sampleEvery: number;
  /** MNIST training examples the soak cycles through (all 60000 unless --examples). */
  examples: number;
  testExamples: number;
}

export interface CliOptions extends BenchOptions {
  json: boolean;
  envs: BenchEnv[];
  help: boolean;
  soak: SoakArgs | null;
}

export const USAGE = `npm run bench -- [options]

Benchmarks (default: --step --profile plus a short sweep ${SHORT_SWEEP.join(',')}):
  --step               train-step comparison: webgpu-vae vs TF.js (tfjs-backend-webgpu)
  --profile            per-kernel GPU time of our step (timestamp queries), by kernel family
  --sweep[=B,B,..]     batch-size sweep, ours only (default ${FULL_SWEEP.join(',')})
  --matmul             matmul variants on the model's shapes (bench/matmul.ts)
  --peak               the adapter's arithmetic ceiling: GFLOP/s of register-only fma chains
                       (bench/peak.ts), against which the matmul GFLOP/s are read
  --soak               a long run watched for leaks and drift: --steps training steps (default
                       10000), a test -ELBO every --eval-every (1000), and every --sample-every
                       (500) steps the GPU bytes and buffers, JS heap, RSS and step time; prints
                       the series and a verdict, which needs two samples: --steps at least twice
                       --sample-every (node only; bench/soak.ts). Exit status 0 no growth, 1
                       growth found, 3 inconclusive (stopped before the second sample)
  --matmul-square N    add an N^3 case to the matmul table (default 1024; 0 on SwiftShader, where
                       the tiled variant takes minutes on it)

Where:
  --env node|chromium|both   Node (Dawn) or headless /usr/bin/chromium, or both (default node)

Shape and sample sizes:
  --batch N            batch size (default 128)
  --hidden A[,B..]     encoder hidden sizes, decoder mirrors them (default 400)
  --latent N           latent size (default 20)
  --steps N            timed steps: TF.js N single steps; ours --blocks blocks of N steps (default 5)
  --blocks N           timed blocks for webgpu-vae (default 5)
  --rounds N           the step comparison alternates ours and TF.js N times (default 3)
  --warmup N           untimed steps after the first (compiling) step (default 2)
  --impl both|ours|tfjs  which implementations the step comparison runs (default both)
  --profile-reps N     profiled step repetitions, median per kernel (default 3)
  --sweep-examples N   examples timed per sweep batch size (default 2048)
  --examples N         MNIST examples resident on the GPU (default 4096)
  --lr X               Adam learning rate (default 1e-3)
  --matmul-batches B[,B..]  batch sizes of the model's products in the matmul table (default: the
                       --batch and 1024 on a GPU, the --batch on a software adapter; 0: none)
  --matmul-variants V[,V..]  the matmul table's variants (default: every one the device runs)
  --autotune off|quick|full  time matmul candidates for the step's model and keep the fastest
                       (default off); cached per adapter (Node: ~/.cache/webgpu-vae/autotune.json)
  --matmul-shapes generic|specialized  our matmuls with their sizes in a uniform (one pipeline
                       per kernel family) or in their source (one per product); default: the
                       adapter's choice (generic on software adapters, specialized on GPUs)
  --skip-zeros on|off  the first layer's forward and weight gradient walk only the k steps at
                       which the data has a non-zero (default: the adapter's choice, on for
                       software adapters, off for GPUs); the results are the same bit for bit
  --bounds-checks on|off  off: our shaders compiled without WebGPU's bounds checks on buffer
                       accesses (acquireNodeDevice's boundsChecks; node only). TF.js keeps them:
                       its step's loss is NaN without them. Default: on, unless
                       WEBGPU_VAE_BOUNDS_CHECKS=0 (which the flag overrides)
  --precision f32|f16  storage of our model's hidden activations (default f32); f16 needs the
                       adapter's shader-f16, and without it our step is skipped with a note
  --eval-every N       --soak: steps between test-set evaluations (default 1000)
  --sample-every N     --soak: steps between samples (default 500)
  --test-examples N    --soak: MNIST test examples evaluated (default 10000)

Output:
  --json               one JSON object per line on stdout (progress goes to stderr)
  --help`;

const IMPLS: Record<string, Impl[]> = { both: ['webgpu-vae', 'tfjs-webgpu'], ours: ['webgpu-vae'], 'webgpu-vae': ['webgpu-vae'], tfjs: ['tfjs-webgpu'], 'tfjs-webgpu': ['tfjs-webgpu'] };
const BOOLEAN = new Set(['json', 'help', 'step', 'profile', 'matmul', 'peak', 'soak']);

export class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} needs a positive integer, got '${v ?? ''}'`);
  return n;
}

function nonNegativeInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || v === '') throw new UsageError(`--${name} needs an integer >= 0, got '${v ?? ''}'`);
  return n;
}

function intList(name: string, v: string): number[] {
  const xs = v.split(',').filter(Boolean).map((x) => positiveInt(name, x));
  if (xs.length === 0) throw new UsageError(`--${name} needs a comma list of positive integers, got '${v}'`);
  return xs;
}

function matmulVariantList(v: string): MatmulVariant[] {
  const xs = v.split(',').filter(Boolean);
  if (xs.length === 0) throw new UsageError(`--matmul-variants needs a comma list of variants (${MATMUL_VARIANTS.join(', ')}), got '${v}'`);
  for (const x of xs) {
    if ((MATMUL_VARIANTS as readonly string[]).includes(x)) continue;
    const near = nearestName(x, MATMUL_VARIANTS);
    throw new UsageError(`--matmul-variants: unknown variant '${x}'${near ? ` (did you mean '${near}'?)` : ''}; the variants are ${MATMUL_VARIANTS.join(', ')}`);
  }
  return xs as MatmulVariant[];
}

const KNOWN = new Set([...BOOLEAN, 'bounds-checks', 'sweep', 'env', 'batch', 'hidden', 'latent', 'steps', 'blocks', 'rounds', 'warmup', 'impl', 'profile-reps', 'sweep-examples', 'examples', 'lr', 'matmul-square', 'autotune', 'matmul-batches', 'matmul-variants', 'precision', 'matmul-shapes', 'skip-zeros', 'eval-every', 'sample-every', 'test-examples']);

/** A soak too short for the samples its verdict compares would run for nothing: refused before it starts. */
function checkSoakSamples(steps: number, sampleEvery: number): void {
  const samples = Math.floor(steps / sampleEvery);
  if (samples >= MIN_SOAK_SAMPLES) return;
  throw new UsageError(`--soak --steps ${steps} takes ${samples} sample${samples === 1 ? '' : 's'} (one every --sample-every ${sampleEvery} steps), ` +
    `and its verdict compares at least ${MIN_SOAK_SAMPLES}: give --steps ${MIN_SOAK_SAMPLES * sampleEvery} or more, or a smaller --sample-every`);
}

export function parseArgs(argv: string[]): CliOptions {
  const given = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] === '-h' ? '--help' : argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!KNOWN.has(name)) {
      const near = nearestName(name, [...KNOWN]);
      throw new UsageError(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    if (eq >= 0) given.set(name, a.slice(eq + 1));
    else if (BOOLEAN.has(name)) given.set(name, true);
    else if (name === 'sweep') given.set(name, /^\d/.test(argv[i + 1] ?? '') ? argv[++i] : true);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) given.set(name, argv[++i]);
    else throw new UsageError(`--${name} needs a value`);
  }
  const str = (k: string) => (typeof given.get(k) === 'string' ? (given.get(k) as string) : undefined);
  const int = (k: string, d: number) => (given.has(k) ? positiveInt(k, str(k)) : d);

  const env = str('env') ?? 'node';
  if (!['node', 'chromium', 'both'].includes(env)) throw new UsageError(`--env must be node, chromium or both, got '${env}'`);
  const impl = str('impl') ?? 'both';
  if (!IMPLS[impl]) throw new UsageError(`--impl must be both, ours or tfjs, got '${impl}'`);
  const lr = given.has('lr') ? Number(str('lr')) : 1e-3;
  if (!(lr > 0)) throw new UsageError(`--lr must be a positive number, got '${str('lr') ?? ''}'`);
  const autotune = str('autotune') ?? 'off';
  if (!AUTOTUNE_MODES.includes(autotune as AutotuneMode)) throw new UsageError(`--autotune must be off, quick or full, got '${autotune}'`);
  const precision = str('precision') ?? 'f32';
  if (!PRECISIONS.includes(precision as Precision)) throw new UsageError(`--precision must be f32 or f16, got '${precision}'`);
  const matmulShapes = str('matmul-shapes') ?? 'default';
  if (!MATMUL_SHAPES.includes(matmulShapes as MatmulShapes)) throw new UsageError(`--matmul-shapes must be generic or specialized (default: the adapter's choice), got '${matmulShapes}'`);
  const skipZeros = str('skip-zeros') ?? 'default';
  if (!SKIP_ZEROS.includes(skipZeros as SkipZeros)) throw new UsageError(`--skip-zeros must be on or off (default: the adapter's choice), got '${skipZeros}'`);
  const boundsChecks = str('bounds-checks');
  if (boundsChecks !== undefined && !['on', 'off'].includes(boundsChecks)) throw new UsageError(`--bounds-checks must be on or off, got '${boundsChecks}'`);
  if (boundsChecks === 'off' && env !== 'node') {
    throw new UsageError("--bounds-checks off runs in node only: in Chromium the switch (--enable-dawn-features=disable_robustness) is the whole browser's, TF.js's page too, whose step's loss is NaN without the checks");
  }
  const sweepArg = given.get('sweep');
  const selected = ['step', 'profile', 'sweep', 'matmul', 'peak'].some((k) => given.has(k));

  const soakOnly = ['eval-every', 'sample-every', 'test-examples'].find((k) => given.has(k));
  if (soakOnly && !given.has('soak')) throw new UsageError(`--${soakOnly} belongs to --soak; add --soak or leave it out`);
  if (given.has('soak') && env !== 'node') throw new UsageError('--soak runs in node only; the browser soak is `npx tsx bench/soak-browser.ts`');
  const soak = given.has('soak') ? {
    steps: int('steps', 10000), evalEvery: int('eval-every', 1000), sampleEvery: int('sample-every', 500),
    examples: int('examples', 60000), testExamples: int('test-examples', 10000),
  } : null;
  if (soak) checkSoakSamples(soak.steps, soak.sampleEvery);

  return {
    soak,
    json: given.has('json'),
    help: given.has('help'),
    envs: env === 'both' ? ['node', 'chromium'] : [env as BenchEnv],
    batch: int('batch', 128),
    hidden: given.has('hidden') ? intList('hidden', str('hidden') ?? '') : [400],
    latent: int('latent', 20),
    steps: int('steps', 5),
    blocks: int('blocks', 5),
    rounds: int('rounds', 3),
    warmup: given.has('warmup') ? nonNegativeInt('warmup', str('warmup')) : 2,
    impls: IMPLS[impl],
    step: selected ? given.has('step') : true,
    profile: selected ? given.has('profile') : true,
    profileReps: int('profile-reps', 3),
    sweep: sweepArg === undefined ? (selected ? [] : SHORT_SWEEP) : sweepArg === true ? FULL_SWEEP : intList('sweep', sweepArg),
    sweepExamples: int('sweep-examples', 2048),
    matmul: given.has('matmul'),
    peak: given.has('peak'),
    matmulSquare: given.has('matmul-square') ? nonNegativeInt('matmul-square', str('matmul-square')) : null,
    autotune: autotune as AutotuneMode,
    precision: precision as Precision,
    matmulShapes: matmulShapes as MatmulShapes,
    skipZeros: skipZeros as SkipZeros,
    ...(boundsChecks === undefined ? {} : { boundsChecks: boundsChecks === 'on' }),
    matmulBatches: given.has('matmul-batches') ? (str('matmul-batches') === '0' ? [] : intList('matmul-batches', str('matmul-batches') ?? '')) : null,
    matmulVariants: given.has('matmul-variants') ? matmulVariantList(str('matmul-variants') ?? '') : null,
    examples: int('examples', 4096),
    lr,
  };
}

/** The options, or null after printing a usage error with the usage (the caller exits 2). */
export function parseOrSayUsage(argv: string[]): CliOptions | null {
  try {
    return parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // The refusal last, where a piped `| tail` still shows it.
    process.stderr.write(`${USAGE}\n\nbench: ${e.message}\n`);
    return null;
  }
}
