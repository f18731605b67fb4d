// Entry point of the `webgpu-vae` command: dispatches to a subcommand and turns user mistakes
// (bad flags, missing files, no adapter) into one line on stderr and exit code 1; a training run
// stopped by Ctrl-C returns its own status (130).
import { readFileSync } from 'node:fs';
import { USER_ERROR_NAMES } from '../errors';
import { nearestName } from '../edit-distance';
import { checkRepeats, COMMAND_FLAGS, wantsHelp } from './args';
import { inCliTerms } from './messages';
import { trainCommand } from './train';
import { stopReadingOnSignal } from './run-stop';
import { evalCommand, sampleCommand } from './commands';
import { traverseCommand } from './traverse';
import { interpolateCommand, reconstructCommand } from './latent';
import { watchClosedOutput } from './closed-output';
import { ACTIVATIONS } from '../../shaders/activation';

export const USAGE = `usage: webgpu-vae <command> [flags]
       webgpu-vae --version

commands:
  train   [--dataset mnist|fashion-mnist|cifar10|dsprites|dsprites-color|folder] [--data-dir DIR]
          [--image-size 64] [--image-channels 3|1] [--strict]  (folder only; 3 = RGB, the default)
          [--limit N] [--test-limit N]
          [--arch mlp|conv] [--channels C,C,..] [--dense N,..] [--norm none|group] [--norm-groups 8] [--upsample transposed|nearest]
          [--init kaiming|pytorch]  (conv only, kaiming by default; an mlp starts as PyTorch's)
          [--hidden 400] [--latent 20] [--conditional]
          [--activation ${ACTIVATIONS.filter((a) => a !== 'none').join('|')}] [--likelihood bernoulli|gaussian]
          [--sigma S|learned|learned-pixel|predicted]  (gaussian only; S a fixed scale, 1 by default) [--dequantize] [--binarize none|dynamic|fixed]
          [--objective elbo|iwae|tcvae] [--samples 1, 5 for iwae] (--samples-per-x: its older name) [--beta 1] [--warmup-steps 0] [--kl-cycle-steps 0] [--free-bits 0]
          [--kl-capacity 0] [--capacity-steps 0]  (loss = rec + beta |KL - C|, C growing to the capacity in nats)
          [--tc-estimator mws|mss]  (tcvae's total-correlation estimate: minibatch-weighted or stratified sampling)
          [--epochs 10] [--batch 128] [--optimizer adam|sgd] [--lr 1e-3] [--lr-decay none|cosine] [--lr-min 0] [--seed 0]
          [--autotune off|quick|full]  (matmul kernels and conv methods timed and chosen; cached in ~/.cache/webgpu-vae/autotune.json;
          quick stops after 1 s, too soon on a software adapter such as SwiftShader to decide more than a product or so: use full there)
          [--precision f32|f16]  (f16: hidden activations stored as f16; needs the GPU's shader-f16)
          [--out runs/DATASET-TIME] [--force] [--save-every N] [--clip-grad NORM] [--on-nan stop|skip-batch|rollback]
          [--retries 2] [--max-gpu-memory MiB] [--json]
          [--init-from runs/NAME|FILE]  (a new run from a trained model's parameters: its architecture, a fresh optimizer)
          (skip-batch: an epoch that skips over half its steps stops the run, exit 3, unless it is the first and more follow)
  train   --resume runs/NAME [--epochs N] [--lr X] [--precision f32|f16] [--save-every N] [--on-nan ...] [--retries N]
          [--autotune ...] [--max-gpu-memory MiB] [--data-dir DIR] [--json]  (model, data and optimizer flags may be repeated, not changed)
  eval    --checkpoint runs/NAME|FILE [--dataset NAME] [--data-dir DIR] [--limit N] [--seed S] [--iwae K] [--json]
          (--seed: the evaluation noise's seed; by default the run's own, so eval with --limit set to the
          run's --test-limit repeats its test figures; without --limit it reads the whole test split,
          and on dSprites the held-out pictures the run tested on, 2000 where the checkpoint does not say)
  sample  --checkpoint runs/NAME|FILE [--n 64] [--seed S] [--label C] --out FILE.png [--json]
          (--seed: by default the run's own, so the first samples are those of its samples.png;
          a conditional model: --label C draws class C alone, C a number or the data set's class name,
          e.g. --label Sneaker; without it the samples spread evenly
          over the classes, a row per class, 8 of each unless --n is given; a column is one z as every class)
  traverse --checkpoint runs/NAME|FILE --out FILE.png [--steps 9] [--range 3] [--dataset NAME [--limit 256]] [--data-dir DIR] [--label C] [--json]
          (a conditional model: --label C decodes every tile as class C; without it, as the test
          picture's own class with --dataset, else as class 0)
  reconstruct --checkpoint runs/NAME|FILE --out FILE.png [--dataset NAME] [--data-dir DIR] [--n 32] [--json]
  interpolate --checkpoint runs/NAME|FILE --out FILE.png [--dataset NAME] [--data-dir DIR] [--pairs 4] [--steps 9] [--label C] [--json]
          (a conditional model: each row joins two test pictures of the same class, every step decoded
          as that class; --label C decodes every step as class C, each end encoded with its own label)

eval, reconstruct and interpolate read the test pictures of the data set the checkpoint was trained on
(MNIST for a checkpoint that does not say); --dataset NAME picks another of the same picture size.
A data set read from files comes from the folder the run read, while it is there, or from --data-dir DIR.

WEBGPU_VAE_BOUNDS_CHECKS=0 runs every command's shaders without WebGPU's bounds checks on buffer
accesses (about 30% faster on SwiftShader, the CPU driver; the kernels stay inside their buffers).`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number | void>> = { train: trainCommand, eval: evalCommand, sample: sampleCommand, traverse: traverseCommand, reconstruct: reconstructCommand, interpolate: interpolateCommand };

/** The usage lines of one command: its entries in USAGE, with their continuation lines, and the notes that name it. */
export function commandUsage(command: string): string {
  const lines = USAGE.split('\n');
  const [list, ...notes] = lines.slice(lines.indexOf('commands:') + 1).join('\n').split('\n\n');
  const picked: string[] = [];
  let inside = false;
  for (const line of list.split('\n')) {
    if (/^  \S/.test(line)) inside = line.trimStart().split(' ')[0] === command;
    if (inside) picked.push(line);
  }
  const own = notes.filter((note) => new RegExp(`\\b${command}\\b`).test(note));
  return `usage: webgpu-vae ${command} [flags]\n\n${[picked.join('\n'), ...own].join('\n\n')}`;
}

/** The version in package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  watchClosedOutput();
  const [command, ...rest] = argv;
  if (!command) {
    // Nothing asked: the usage is the error message, so it goes where errors go.
    process.stderr.write(USAGE + '\n');
    return 1;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === '--version') {
    process.stdout.write(`webgpu-vae ${version()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    const near = nearestName(command, Object.keys(COMMANDS));
    process.stderr.write(`webgpu-vae: unknown command '${command}'; ${near ? `did you mean ${near}? ` : ''}use one of ${Object.keys(COMMANDS).join(', ')} (webgpu-vae --help)\n`);
    return 1;
  }
  if (wantsHelp(rest, COMMAND_FLAGS.get(command))) {
    process.stdout.write(commandUsage(command) + '\n');
    return 0;
  }
  // train answers stop signals itself (run-stop.ts); the reading commands keep nothing to save.
  // Its one output file is written whole at its end (files.ts), or not at all.
  const left = command === 'eval' ? 'it writes no file' : 'its --out picture is written whole at its end, or not at all';
  const release = command === 'train' ? () => {} : stopReadingOnSignal(command, left);
  try {
    checkRepeats(rest, COMMAND_FLAGS.get(command));
    return (await run(rest)) ?? 0;
  } catch (e) {
    const err = e as Error;
    // A failed write (disk full, no permission) is the machine's state, not a bug: one line, like a user error.
    if (USER_ERROR_NAMES.has(err.name) || err.name === 'OutputError') {
      process.stderr.write(`webgpu-vae ${command}: error: ${inCliTerms(err)}\n`);
      return 1;
    }
    process.stderr.write(`webgpu-vae ${command}: internal error (please report): ${err.stack ?? err.message}\n`);
    return 2;
  } finally {
    release();
  }
}
