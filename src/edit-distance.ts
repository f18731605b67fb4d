// Levenshtein distance, for "did you mean" on a mistyped flag, option, config field or kernel
// parameter, and the check that refuses such a name with the nearest known one.
import { ConfigError } from './errors';

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** Refuses names not in `known`, suggesting the nearest known one: a misspelt name would otherwise be ignored. */
export function checkKnownKeys(what: string, keys: string[], known: readonly string[]): void {
  for (const key of keys) {
    if (known.includes(key)) continue;
    const near = known.map((k) => [k, editDistance(key.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
    const hint = near && near[1] <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${near[0]}'?)` : '';
    throw new ConfigError(`unknown ${what} '${key}'${hint}; the ${what}s are ${known.join(', ')}`);
  }
}
