// The long commands' progress on output that is not a terminal (a file, a CI log): a line every
// 15 s of work with the bar's figures, and nothing at the start or the end, where the command
// prints its own summary. On a terminal it is cli-progress's bar.
import { SingleBar } from 'cli-progress';
import { describe, expect, it } from 'vitest';
import { barReadInterval } from '../src/cli/train-epoch';
import { aboveBar, PIPED_LINE_MS, progressBar } from '../src/cli/progress';

describe('progress on output that is not a terminal', () => {
  it('writes a line every 15 s of updates, with the figures and no bar, and none at start or stop', () => {
    const lines: string[] = [];
    let t = 1000;
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar('epoch 1/2 [{bar}] {value}/{total} steps | {rate} steps/s | loss {loss}', stream, () => t);
    bar.start(100, 10, { rate: '-', loss: '-' });
    t += 5_000;
    bar.update(12, { rate: '0.40', loss: '-' });
    expect(lines).toEqual([]);
    t += PIPED_LINE_MS;
    bar.update(40, { rate: '1.50', loss: '98.10' });
    t += 1_000;
    bar.update(41, { rate: '1.52', loss: '97.00' });
    t += PIPED_LINE_MS;
    bar.update(90);
    bar.stop();
    expect(lines).toEqual(['epoch 1/2 40/100 steps | 1.50 steps/s | loss 98.10\n', 'epoch 1/2 90/100 steps | 1.52 steps/s | loss 97.00\n']);
  });

  it('gives the percentage and the time left once there is progress to go by, and says unknown before', () => {
    const lines: string[] = [];
    let t = 0;
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar('importance sampling K=5000 [{bar}] {percentage}% | {eta_formatted} left', stream, () => t);
    bar.start(1, 0);
    bar.setTotal(40);
    t = 20_000;
    bar.update(0);
    t = 40_000;
    bar.update(10); // 10 of 40 chunks in 40 s: 120 s to go
    expect(lines).toEqual(['importance sampling K=5000 0% | unknown left\n', 'importance sampling K=5000 25% | 2m0s left\n']);
  });

  it('is cli-progress\'s bar on a terminal', () => {
    const stream = { isTTY: true, write: () => true } as unknown as NodeJS.WriteStream;
    expect(progressBar('{bar}', stream)).toBeInstanceOf(SingleBar);
  });
});

describe('a short epoch\'s extra loss reads for the bar', () => {
  it('reads four times an epoch of fewer than 4 x lossEvery steps, and not otherwise', () => {
    expect(barReadInterval(8, 16)).toBe(2); // 236 pictures at --batch 32
    expect(barReadInterval(30, 16)).toBe(8);
    expect(barReadInterval(1, 16)).toBe(1);
    expect(barReadInterval(63, 16)).toBe(16);
    expect(barReadInterval(64, 16)).toBe(0);
    expect(barReadInterval(469, 16)).toBe(0); // MNIST at the default batch
  });
});

describe('a line printed while a bar is drawn', () => {
  it('clears the bar\'s line first on a terminal, and writes as it is elsewhere', () => {
    const tty = { isTTY: true, out: '' as string, write(s: string) { this.out += s; } };
    const bar = progressBar('decoding [{bar}] {value}/{total}', { ...tty, isTTY: false } as unknown as NodeJS.WriteStream);
    aboveBar(bar, () => tty.write('warning: skipping a.png\n'), tty);
    expect(tty.out).toBe('\r\x1b[2Kwarning: skipping a.png\n');
    const piped = { isTTY: false, out: '' as string, write(s: string) { this.out += s; } };
    aboveBar(bar, () => piped.write('warning: skipping a.png\n'), piped);
    expect(piped.out).toBe('warning: skipping a.png\n');
    // No bar, nothing to clear.
    const idle = { isTTY: true, out: '' as string, write(s: string) { this.out += s; } };
    aboveBar(null, () => idle.write('note\n'), idle);
    expect(idle.out).toBe('note\n');
  });
});
