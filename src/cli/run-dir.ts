// A run folder (runs/NAME): what `train` writes there, the rule that a new run never overwrites
// an old one without --force, reading the training state back for --resume, and config.json, the
// record of how the run was started and resumed.
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../io/safetensors';
import { readTrainingState, type TrainingState } from '../training-state';
import { UsageError } from './args';
import { writeFileAtomic } from './files';

export const RUN_FILES = {
  model: 'model.safetensors',
  state: 'training-state.safetensors',
  config: 'config.json',
  metrics: 'metrics.jsonl',
  samples: 'samples.png',
  reconstructions: 'reconstructions.png',
} as const;

export type RunPaths = { [K in keyof typeof RUN_FILES]: string };

export function runPaths(dir: string): RunPaths {
  return Object.fromEntries(Object.entries(RUN_FILES).map(([k, name]) => [k, join(dir, name)])) as RunPaths;
}

/** Quotes a path for a shell command line when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const resumeCommand = (dir: string) => `webgpu-vae train --resume ${shellQuote(dir)}`;

/**
 * Checks that a new run may use `dir`: refused when it holds a run (a model or a training state),
 * unless `force`, which removes that run's files (and only those) so nothing stale is mixed in.
 */
export function claimNewRunDir(dir: string, force: boolean): void {
  const p = runPaths(dir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file, not a folder; choose another --out`);
  const held = [p.model, p.state].filter((f) => existsSync(f));
  if (!held.length) return;
  if (!force) {
    throw new UsageError(`${dir} already holds a run (${held.map((f) => f.slice(dir.length + 1)).join(', ')}); continue it with \`${resumeCommand(dir)}\`, ` +
      'or add --force to discard it and start over');
  }
}

/** With --force: removes the old run's files just before the new run writes its own. */
export function discardOldRun(dir: string): void {
  for (const f of Object.values(runPaths(dir))) {
    try {
      unlinkSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--force: cannot remove ${f} (${(e as NodeJS.ErrnoException).code}); remove it yourself or choose another --out`);
    }
  }
}

/** The training state of the run in `dir`, with messages for folders that hold none. */
export function readRunState(dir: string): TrainingState {
  const p = runPaths(dir);
  if (!existsSync(dir)) throw new UsageError(`--resume ${dir}: no such folder; give the folder of a run (e.g. runs/NAME)`);
  if (!existsSync(p.state)) {
    if (existsSync(p.model)) {
      throw new UsageError(`--resume ${dir}: it holds ${RUN_FILES.model} but no ${RUN_FILES.state}, so the run cannot continue exactly (it was written by an older webgpu-vae ` +
        'or copied without it); start a new run with --out');
    }
    throw new UsageError(`--resume ${dir}: no ${RUN_FILES.state} there, so no run to continue; start one with \`webgpu-vae train --out ${shellQuote(dir)}\``);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(p.state));
  } catch (e) {
    throw new CheckpointError(`cannot read ${p.state}: ${(e as Error).message}`);
  }
  try {
    return readTrainingState(bytes, p.state);
  } catch (e) {
    if (e instanceof CheckpointError && !e.message.startsWith(p.state)) throw new CheckpointError(`${p.state}: ${e.message}`);
    throw e;
  }
}

/** config.json: the configuration and options a run started with, and when it was resumed (with the new lr, where --lr changed it). */
export interface RunRecord {
  format: 'webgpu-vae-run';
  started: string;
  config: unknown;
  training: unknown;
  run: Record<string, unknown>;
  resumed: { at: string; step: number; epochs: number; lr?: number; precision?: string }[];
}

export function writeRunRecord(dir: string, record: RunRecord): void {
  writeFileAtomic(runPaths(dir).config, new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}

/** The record of a run being resumed; rebuilt from the training state if the file is gone or damaged. */
export function readRunRecord(dir: string, fallback: () => RunRecord): RunRecord {
  try {
    const r = JSON.parse(readFileSync(runPaths(dir).config, 'utf8')) as RunRecord;
    if (r.format === 'webgpu-vae-run' && Array.isArray(r.resumed) && typeof r.run === 'object' && r.run) return r;
  } catch { /* fall through */ }
  return fallback();
}
