// The objective's flags of a run, for the commands the CLI offers: a new run started from a
// model (`--init-from`) takes the objective of its own flags (their defaults when left out), not
// the checkpoint's, so the command that continues a run under one changed flag must repeat the
// run's objective flags; and a flag that belongs to another objective brings that objective.
import { DEFAULT_CONFIG, resolveConfig, type VaeConfig } from '../model/config';

/** The objective's flags, with the config field each one sets. */
export const OBJECTIVE_FLAGS: readonly (readonly [flag: string, field: keyof VaeConfig])[] = [
  ['objective', 'objective'], ['samples', 'samples'], ['beta', 'beta'], ['warmup-steps', 'warmupSteps'], ['kl-cycle-steps', 'klCycleSteps'],
  ['tc-estimator', 'tcEstimator'], ['free-bits', 'freeBits'], ['kl-capacity', 'klCapacity'], ['capacity-steps', 'capacitySteps'],
];

/** IWAE takes no KL weighting, schedule or target: these are the ELBO's (or the TCVAE's). */
const KL_FIELDS: readonly string[] = ['beta', 'warmupSteps', 'klCycleSteps', 'freeBits', 'klCapacity', 'capacitySteps'];

/** Whether any objective flag was given (`--samples-per-x` is `--samples`'s older name). */
export function objectiveFlagGiven(f: Record<string, unknown>): boolean {
  return f['samples-per-x'] !== undefined || OBJECTIVE_FLAGS.some(([flag]) => f[flag] !== undefined);
}

/**
 * The flags that give a new run `saved`'s objective, less the changed `field` (its flag is given
 * beside them): `--objective` unless it is the default, and each objective field that differs
 * from that objective's default. Where `field` belongs to another objective (a TC estimator on an
 * ELBO run; a KL weight or schedule on an IWAE run), that objective alone.
 */
export function keptObjectiveFlags(saved: VaeConfig, field: string): string[] {
  if (field === 'objective') return [];
  const other = field === 'tcEstimator' && saved.objective !== 'tcvae' ? 'tcvae' : saved.objective === 'iwae' && KL_FIELDS.includes(field) ? 'elbo' : null;
  if (other) return other === DEFAULT_CONFIG.objective ? [] : [`--objective ${other}`];
  const base = resolveConfig({ objective: saved.objective });
  const flags: string[] = [];
  for (const [flag, f] of OBJECTIVE_FLAGS) {
    if (f === field) continue;
    const value = saved[f];
    if (f === 'objective' ? value !== DEFAULT_CONFIG.objective : JSON.stringify(value) !== JSON.stringify(base[f])) flags.push(`--${flag} ${value}`);
  }
  return flags;
}
