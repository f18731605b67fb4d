// The CLI's loss figures: two decimals while readable, an exponent for a diverged model's.
import { describe, expect, it } from 'vitest';
import { natsText } from '../src/cli/figure-text';
import { epochSummary } from '../src/cli/train-report';
import { resolveConfig } from '../src/model/config';

describe('natsText', () => {
  it('prints ordinary losses with two decimals', () => {
    expect(natsText(105.4812)).toBe('105.48');
    expect(natsText(-1234.567)).toBe('-1234.57');
    expect(natsText(0.004)).toBe('0.00');
    expect(natsText(999_999_999.994)).toBe('999999999.99');
  });
  it('prints figures past a billion nats with an exponent, not twenty digits or a bare 1e+21', () => {
    expect(natsText(1e20)).toBe('1.0000e+20');
    expect(natsText(1e21)).toBe('1.0000e+21');
    expect(natsText(-3.456789e12)).toBe('-3.4568e+12');
  });
  it('leaves NaN and infinities as words', () => {
    expect(natsText(Number.NaN)).toBe('NaN');
    expect(natsText(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
  it('is what the epoch line prints', () => {
    const line = epochSummary(resolveConfig({}), { epoch: 3, train_loss: 2.5e22, test_loss: 107.861, test_rec: 98.17, test_kl: 9.691, seconds: 12.34, samples_per_s: 1500, skipped_steps: 0, epoch_steps: 469 }, 469, 10);
    expect(line).toContain('train -ELBO 2.5000e+22 | test -ELBO 107.86 nats (rec 98.17, KL 9.69)');
  });
});
