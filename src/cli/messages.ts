// The library's errors speak of its API (VaeConfig fields, VaeOptions): "leave klCapacity at 0",
// "use precision 'f32'", "(memoryBudget; ...)". When one reaches the command line, the fix should
// name the flag to give or leave out instead; inCliTerms rewrites the API words into flags.
// The rewrites are a fixed list (API_TO_FLAGS), each matched only where it stands as a field or
// option name, and only in the errors the library raises about a configuration, data or the
// device (not the CLI's own messages, nor a checkpoint's, whose fields describe the file).
import { withoutLimitsAdvice } from '../gpu/buffers';
import { SPLIT_IN_PLAIN_WORDS } from '../data/image-set';

/** API field -> CLI flag, for camel-case fields that name nothing else in a message. */
export const FIELD_FLAGS: Record<string, string> = {
  klCapacity: '--kl-capacity',
  capacitySteps: '--capacity-steps',
  warmupSteps: '--warmup-steps',
  klCycleSteps: '--kl-cycle-steps',
  freeBits: '--free-bits',
  tcEstimator: '--tc-estimator',
  normGroups: '--norm-groups',
  imageChannels: '--image-channels',
  memoryBudget: '--max-gpu-memory',
};

/** Fields named with a value ("init pytorch", "arch conv", "objective tcvae"): the flag and its value. */
const VALUED: Record<string, string[]> = {
  init: ['pytorch', 'kaiming'],
  arch: ['mlp', 'conv'],
  norm: ['none', 'group'],
  upsample: ['transposed', 'nearest'],
  objective: ['elbo', 'iwae', 'tcvae'],
  likelihood: ['bernoulli', 'gaussian'],
  precision: ['f32', 'f16'],
};

const notFlag = '(?<![-\\w])';

/** The rewrites, in order: whole phrases first, then valued fields, then bare field names. */
export const API_TO_FLAGS: [RegExp, string | ((whole: string, ...groups: string[]) => string)][] = [
  // Memory budget: the API and the CLI both named; the CLI needs only its own.
  [/ \(memoryBudget; --max-gpu-memory in the CLI\)/g, ' (--max-gpu-memory MiB)'],
  [/use a batch of (\d+) or less \(batch; --batch in the CLI\)/g, 'use --batch $1 or less'],
  [/ \(an even imageShape; an even --image-size in the CLI\)/g, ' (an even --image-size for a folder of pictures)'],
  // The command line's device already has the adapter's most: requesting more is no fix there.
  withoutLimitsAdvice,
  // Any other "(API words; --flags in the CLI)": the CLI keeps its flags.
  [/ \([^();]*; (--[^()]*) in the CLI\)/g, ' ($1)'],
  // Fixes phrased as "leave FIELD at 0" / "set those to 0".
  [/leave klCapacity at 0/g, 'leave out --kl-capacity'],
  [/leave free bits at 0/g, 'leave out --free-bits'],
  [/\bset those to 0\b/g, 'leave out --free-bits, --warmup-steps and --kl-cycle-steps'],
  [/leave beta at 1 and warmupSteps, klCycleSteps and freeBits at 0/g, 'leave out --beta, --warmup-steps, --kl-cycle-steps and --free-bits'],
  // A folder of pictures too small to split; the command line has no testFraction to set.
  ...SPLIT_IN_PLAIN_WORDS,
  // A folder of pictures read strictly.
  [/Strict loading refuses/g, '--strict refuses'],
  [/load without strict/g, 'leave out --strict'],
  [/\bleave dequantize out\b/g, 'leave out --dequantize'],
  // "the elbo objective" as a fix.
  [/\buse the elbo objective\b/g, 'use --objective elbo'],
  [/\bthe mlp architecture takes hidden sizes \(hidden\)/g, 'the mlp architecture takes hidden sizes (--hidden)'],
  // Valued fields: "precision 'f32'" -> "--precision f32", "init pytorch" -> "--init pytorch".
  ...Object.entries(VALUED).map(([field, values]): [RegExp, string] => [new RegExp(`${notFlag}\\b${field} '?(${values.join('|')})'?(?![-\\w])`, 'g'), `--${field} $1`]),
  // A message that opens with a one-word field: "beta must be ...", "dequantize applies to ...".
  [/^(beta|samples|latent|hidden|dense|channels|binarize|dequantize)(?= (must|sets|applies|and) )/, '--$1'],
  [/^--dequantize and binarize\b/, '--dequantize and --binarize'],
  // Bare camel-case fields.
  ...Object.entries(FIELD_FLAGS).map(([field, flag]): [RegExp, string] => [new RegExp(`${notFlag}\\b${field}\\b`, 'g'), flag]),
];

/** Errors whose messages name API fields: configuration, data and device refusals raised by the library. */
const LIBRARY_ERRORS = new Set(['ConfigError', 'DataError', 'DeviceLimitError']);

/** `message` with the API's field and option names replaced by the flags that set them. */
export function toFlags(message: string): string {
  return API_TO_FLAGS.reduce((m, [pattern, flag]) => (typeof flag === 'string' ? m.replace(pattern, flag) : m.replace(pattern, flag)), message);
}

/** The message to print for `err` on the command line. */
export function inCliTerms(err: Error): string {
  return LIBRARY_ERRORS.has(err.name) ? toFlags(err.message) : err.message;
}
