// Progress for the long commands (train's epochs, eval's importance sampling): cli-progress's bar
// on a terminal; on output that is not one (a file, a CI log), a plain line every 15 s of work,
// and nothing at the start or the end, where the command prints its own summary. (cli-progress's
// own piped mode printed the empty bar twice per epoch, and an ETA of 0s before any progress.)
import { SingleBar } from 'cli-progress';

/** What the commands call on a progress display: cli-progress's SingleBar, or the piped lines. */
export interface Progress {
  start(total: number, value: number, payload?: Record<string, string>): void;
  update(value: number, payload?: Record<string, string>): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * Clears a terminal bar's line before `write` prints a line of its own (a warning while pictures
 * decode), so that the two do not share a line; the bar draws itself again below at its next
 * update. Output that is not a terminal has no bar line to clear.
 */
export function aboveBar(progress: Progress | null, write: () => void, stream: { isTTY?: boolean; write(s: string): unknown } = process.stderr): void {
  if (progress && stream.isTTY) stream.write('\r\x1b[2K');
  write();
}

/** How often the piped form writes a line while work goes on, ms. */
export const PIPED_LINE_MS = 15_000;

/**
 * A progress display of `format` (cli-progress tokens: {bar}, {value}, {total}, {percentage},
 * {eta_formatted} and the payload's names): a bar on a terminal, lines otherwise.
 */
export function progressBar(format: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  if (stream.isTTY) return new SingleBar({ format, hideCursor: true, clearOnComplete: true, stream });
  return new PipedProgress(format, stream, now);
}

class PipedProgress implements Progress {
  private total = 0;
  private value = 0;
  private first = 0;
  private startedAt = 0;
  private lastLine = 0;
  private payload: Record<string, string> = {};

  constructor(private readonly format: string, private readonly stream: { write(s: string): unknown }, private readonly now: () => number) {}

  start(total: number, value: number, payload: Record<string, string> = {}): void {
    Object.assign(this, { total, value, first: value, payload: { ...payload } });
    this.startedAt = this.lastLine = this.now();
  }

  setTotal(total: number): void {
    this.total = total;
  }

  update(value: number, payload: Record<string, string> = {}): void {
    this.value = value;
    Object.assign(this.payload, payload);
    const t = this.now();
    if (t - this.lastLine < PIPED_LINE_MS) return;
    this.lastLine = t;
    this.stream.write(`${this.line(t)}\n`);
  }

  stop(): void {}

  private line(t: number): string {
    const done = this.value - this.first, left = this.total - this.value;
    const eta = done > 0 ? formatSeconds((left * (t - this.startedAt)) / done / 1000) : 'unknown';
    const tokens: Record<string, string> = {
      ...this.payload, value: String(this.value), total: String(this.total), eta_formatted: eta,
      percentage: String(this.total > 0 ? Math.floor((100 * this.value) / this.total) : 0),
    };
    return this.format.replace(/\[\{bar\}\] ?/, '').replace(/\{(\w+)\}/g, (whole, name: string) => tokens[name] ?? whole);
  }
}

/** 75 -> '1m15s', 8 -> '8s'. */
function formatSeconds(s: number): string {
  const whole = Math.round(s);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${whole % 60}s` : `${whole}s`;
}
