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

/**
 * The known name `name` most likely mistypes, or undefined: the nearest by edit distance (case
 * ignored) among those within max(2, a third of its length), or that one of the two begins with
 * the other (`latentSize` for `latent`, `--lr-dec` for `--lr-decay`), three letters or more.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const typed = name.toLowerCase();
  const within = Math.max(2, Math.floor(name.length / 3));
  const prefix = (a: string, b: string) => Math.min(a.length, b.length) >= 3 && (a.startsWith(b) || b.startsWith(a));
  return known
    .map((k) => [k, editDistance(typed, k.toLowerCase())] as const)
    .filter(([k, d]) => d <= within || prefix(typed, k.toLowerCase()))
    .sort((a, b) => a[1] - b[1])[0]?.[0];
}

/** Refuses names not in `known`, suggesting the nearest known one: a misspelt name would otherwise be ignored. */
export function checkKnownKeys(what: string, keys: string[], known: readonly string[]): void {
  for (const key of keys) {
    if (known.includes(key)) continue;
    const near = nearestName(key, known);
    const hint = near ? ` (did you mean '${near}'?)` : '';
    throw new ConfigError(`unknown ${what} '${key}'${hint}; the ${what}s are ${known.join(', ')}`);
  }
}
