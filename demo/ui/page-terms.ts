// The library's errors speak of its API ("channels: [8, 8]", "use arch mlp", "precision 'f32'",
// testFraction, byte counts and device limit names), and add the CLI's flags in brackets. On the
// page the fix should name the control to change, as it is labelled in index.html; inPageTerms
// rewrites a message into those words, as the CLI's src/cli/messages.ts rewrites it into flags.
// The rewrites are a fixed list, each matched only where a word stands as a field name, so the
// page's own messages (already in its words) pass through unchanged.
import { formatBytes, withoutLimitsAdvice } from '../../src/gpu/buffers';
import { SPLIT_IN_PLAIN_WORDS } from '../../src/data/image-set';
import { PAGE_DATA_NAMES } from '../shared/protocol';

/** API field -> the label of the page's control that sets it. */
export const FIELD_LABELS: Record<string, string> = {
  latent: 'Latent size', hidden: 'Hidden sizes', channels: 'Conv channels', dense: 'Conv dense sizes', samples: 'Samples per example',
  beta: 'β', warmupSteps: 'KL warm-up steps', klCycleSteps: 'KL cycle steps', freeBits: 'Free bits', klCapacity: 'KL capacity', tcEstimator: "β-TCVAE's TC estimate",
  capacitySteps: 'Capacity steps', batch: 'Batch size', lr: 'Learning rate', imageShape: 'Image size', imageSize: 'Image size',
  imageChannels: 'Channels', binarize: 'Binarization', dequantize: 'Dequantize', rows: 'Training examples', seed: 'Seed',
};

/** Fields named with a value ("arch mlp", "precision 'f32'"): the control's label and its options' words. */
const CHOICES: Record<string, [string, Record<string, string>]> = {
  arch: ['Architecture', { mlp: 'MLP', conv: 'Convolutional' }],
  norm: ['Conv normalization', { none: 'None', group: 'GroupNorm' }],
  upsample: ['Conv upsampling', { transposed: 'Transposed conv', nearest: 'Nearest + conv' }],
  objective: ['Objective', { elbo: 'ELBO', iwae: 'IWAE bound', tcvae: 'β-TCVAE' }],
  likelihood: ['Likelihood', { bernoulli: 'Bernoulli', gaussian: 'Gaussian' }],
  precision: ['Activations', { f32: 'f32', f16: 'f16' }],
};

/**
 * `name` (a data set's, as the worker reports it) as the data picker words it: the generated sets
 * come by the command line's name ('dsprites'); the others already as the page words them.
 */
export const dataName = (name: string): string => (PAGE_DATA_NAMES as Record<string, string>)[name] ?? name;

/** Safetensors caps its JSON header at 100 MB; a larger "length" means the bytes are something else. */
const MAX_HEADER = 100_000_000;

const notModel = (file: string) =>
  `${file || 'The file'} is not a safetensors model file. Load a model.safetensors saved by this page (Save model) or by webgpu-vae train.`;

/** A checkpoint that is no safetensors file at all, in one plain sentence; null for other messages. */
function notSafetensors(message: string): string | null {
  const m = /^(?:(.*?): )?(header length (\d+) goes beyond the end of the file \((\d+) bytes\)|file too short \((\d+) bytes\)|header is not (?:valid JSON|a JSON object))/.exec(message);
  if (!m) return null;
  const file = m[1] ?? '';
  if (m[3] !== undefined && Number(m[3]) <= MAX_HEADER) {
    return `${file || 'The file'} ends before its safetensors header does (${formatBytes(Number(m[4]))} of ${formatBytes(8 + Number(m[3]))}): it was cut short, or it is not a model file. Save or download it again.`;
  }
  return notModel(file);
}


/** "(API words; --flags in the CLI)" -> the page's labels, or nothing where the page has no control for them. */
function bracket(_: string, api: string): string {
  const valued = /^(\w+): \[(.*)\]$/.exec(api.trim());
  if (valued) return FIELD_LABELS[valued[1]] ? ` (set ${FIELD_LABELS[valued[1]]} to ${valued[2]})` : '';
  const labels = api.split(',').map((w) => FIELD_LABELS[w.trim()] ?? null);
  return labels.every((l) => l !== null) ? ` (${[...new Set(labels)].join(', ')})` : '';
}

const bytes = (n: string) => formatBytes(Number(n));
const choiceWord = (field: string, value: string) => CHOICES[field][1][value];
const choiceFields = Object.keys(CHOICES).join('|');
const choiceValues = [...new Set(Object.values(CHOICES).flatMap(([, v]) => Object.keys(v)))].join('|');

/** The rewrites, in order: whole phrases first, then valued fields, then bare field names and numbers. */
export const API_TO_PAGE: [RegExp, string | ((...m: string[]) => string)][] = [
  // The page's memory budget is fixed (pageMemoryBudget in worker/session-model.ts): raising it is no fix it can offer.
  [/,? or raise the budget \(memoryBudget; [^()]* in the CLI\)/g, ''],
  [/use a batch of (\d+) or less \(batch; --batch in the CLI\)/g, 'set Batch size to $1 or less'],
  [/(?:train on|use) fewer examples \(fewer rows; [^()]* in the CLI\)/g, 'set fewer Training examples'],
  [/ \(([^();]*); --[^()]* in the CLI\)/g, bracket],
  ...SPLIT_IN_PLAIN_WORDS,
  // The library names the browser's file list 'files' in its messages; the page calls it the chosen pictures.
  [/^files: (\d+) usable picture/, (_, n) => `The chosen pictures: ${n} usable picture`],
  // Fixes phrased as "leave FIELD at 0" / "use the elbo objective".
  [/leave beta at 1 and warmupSteps, klCycleSteps and freeBits at 0/g, 'set β to 1 and KL warm-up steps, KL cycle steps and Free bits to 0'],
  [/leave (klCapacity|free bits) at 0/g, (_, f) => `set ${f === 'klCapacity' ? 'KL capacity' : 'Free bits'} to 0`],
  [/\bset those to 0\b/g, 'set Free bits, KL warm-up steps and KL cycle steps to 0'],
  [/\buse arch mlp, or images with even sides \(an even imageShape; an even --image-size in the CLI\)/g, 'set Architecture to MLP, or use pictures with even sides (for your own pictures, an even Image size)'],
  [/\buse the elbo objective\b/g, 'choose the ELBO Objective'],
  [/\bthe mlp architecture takes hidden sizes \(hidden\)/g, 'the MLP Architecture takes Hidden sizes'],
  // Valued fields: "use precision 'f32' (the default)" -> "set Activations to f32", "arch conv" -> "Architecture Convolutional".
  [new RegExp(`\\buse (${choiceFields}) '?(${choiceValues})'?(?: \\(the default\\))?(?![-\\w])`, 'g'), (_, f, v) => `set ${CHOICES[f][0]} to ${choiceWord(f, v) ?? v}`],
  [new RegExp(`(?<![-\\w])(${choiceFields}) '?(${choiceValues})'?(?![-\\w])`, 'g'), (m, f, v) => (choiceWord(f, v) ? `${CHOICES[f][0]} ${choiceWord(f, v)}` : m)],
  // A message that opens with a one-word field: "beta must be ...", "dequantize applies to ...".
  [/^dequantize and binarize\b/, 'Dequantize and Binarization'],
  [/^(beta|samples|latent|hidden|dense|channels|binarize|dequantize|seed)(?= (must|sets|applies|and) )/, (f) => FIELD_LABELS[f]],
  // Bare camel-case fields.
  [new RegExp(`(?<![-\\w])(${Object.keys(FIELD_LABELS).filter((f) => /[A-Z]/.test(f)).join('|')})\\b`, 'g'), (f) => FIELD_LABELS[f]],
  // Device limits by their WebGPU names, and byte counts, in words and MiB / GiB.
  [/\b(?:this device's )?maxStorageBufferBindingSize is (\d+)/g, (_, n) => `this GPU binds at most ${bytes(n)} as one buffer`],
  [/\b(?:this device's )?maxBufferSize is (\d+)/g, (_, n) => `this GPU's largest buffer is ${bytes(n)}`],
  [/\bbuffer (\S+) needs/g, 'the GPU buffer “$1” needs'],
  [/\b(\d{4,}) bytes\b/g, (_, n) => bytes(n)],
  [/(?<!,) but this GPU\b/g, ', but this GPU'],
  // The page's device already has the adapter's most: only a smaller model or batch is left.
  withoutLimitsAdvice,
  [/\buse a smaller batch or model\b/g, 'use a smaller Batch size or model (Hidden sizes, Conv channels)'],
  [/\buse a smaller model(?! \()/g, 'use a smaller model (Hidden sizes, Conv channels)'],
  // Data set names and the grammar around the page's own ("your images (42) has").
  [/(?<![-\w])(dsprites-color|dsprites)(?![-\w])/g, (n) => dataName(n)],
  [/\b(your images \([^()]*\)) has\b/g, '$1 have'],
];

/** `message` (from the library, the worker or the page) in the words of the page's controls. */
export function inPageTerms(message: string): string {
  return notSafetensors(message) ?? API_TO_PAGE.reduce((m, [pattern, to]) => m.replace(pattern, to as never), message);
}
