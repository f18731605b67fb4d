// How the command line prints a loss in nats: two decimals, as the literature's tables do, while
// that stays readable. toFixed writes 1e20 as twenty-one digits and switches to "1e+21" by itself
// at 1e21, so past a billion nats (a diverged or badly scaled model) the figure is printed with
// five significant digits and an exponent instead.

const PLAIN_LIMIT = 1e9;

/** A figure in nats (a loss, a term of it, a standard error) as the CLI's lines print it. */
export function natsText(value: number, decimals = 2): string {
  return Number.isFinite(value) && Math.abs(value) >= PLAIN_LIMIT ? value.toExponential(4) : value.toFixed(decimals);
}
