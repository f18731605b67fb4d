// When a run counts a second stop signal: one stop often arrives as two signals at once (timeout
// and schedulers signal the process and its group; a terminal's Ctrl-C reaches npm and its child),
// and quitting on the second would lose the steps since the last checkpoint. Signals within
// SAME_STOP_MS of the first are that one stop; a later one quits at once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunStop, SAME_STOP_MS, stoppedExitCode } from '../src/cli/run-stop';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function aRunStop(): { stop: RunStop; said: string[]; exits: (string | number | undefined)[] } {
  const said: string[] = [];
  // The forced quit re-raises the signal at the process itself: recorded here instead.
  const exits: (string | number | undefined)[] = [];
  vi.spyOn(process, 'kill').mockImplementation(((pid: number, sig?: string | number) => { if (pid === process.pid) exits.push(sig); return true; }) as typeof process.kill);
  const stop = new RunStop('runs/x', () => 'the last checkpoint (step 8) is intact', (line) => said.push(line));
  return { stop, said, exits };
}

describe('RunStop', () => {
  it('takes signals that arrive together as one stop, and quits on one sent a second later', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const listenersBefore = process.listeners('SIGINT').length;
    const { stop, said, exits } = aRunStop();
    try {
      stop.phase = 'training';
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGTERM', 'SIGTERM'); // the group's copy, at once
      vi.setSystemTime(1_000_000 + SAME_STOP_MS - 1);
      process.emit('SIGINT', 'SIGINT');
      expect(stop.reason).toBe('SIGTERM');
      expect(exits).toEqual([]);
      // Said once, at once: a stop during the end-of-epoch evaluation is no longer silent.
      expect(said).toEqual(['\nSIGTERM received: stopping at the next step, with a checkpoint (again to quit now)']);
      vi.setSystemTime(1_000_000 + SAME_STOP_MS + 500);
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual(['SIGINT']);
      expect(process.listeners('SIGINT')).toHaveLength(listenersBefore);
      expect(said.at(-1)).toBe('\nSIGINT again: quitting without saving; the last checkpoint (step 8) is intact');
    } finally {
      stop.release();
    }
  });

  it('says how the first signal is answered before the first step, and stops listening on release', () => {
    const { stop, said } = aRunStop();
    process.emit('SIGINT', 'SIGINT');
    stop.release();
    expect(said).toEqual(['\nSIGINT received: stopping before the first step, once the picture being read or the kernels being compiled are done (again to quit now)']);
    expect(process.listeners('SIGINT')).not.toContain((stop as unknown as { onSignal: unknown }).onSignal);
  });

  it('a retried attempt\'s stop takes over from the failed one: its stop too, and the listening', () => {
    const listenersBefore = process.listeners('SIGINT').length;
    const failed = aRunStop();
    const next = aRunStop();
    try {
      expect(process.listeners('SIGINT')).toHaveLength(listenersBefore + 2);
      process.emit('SIGTERM', 'SIGTERM'); // heard by both while the retry is being set up
      next.stop.release();
      const taking = aRunStop();
      taking.stop.takeOver(failed.stop);
      expect(taking.stop.reason, 'the stop heard before the takeover').toBe('SIGTERM');
      expect(taking.stop.stopSignal.aborted).toBe(true);
      expect(process.listeners('SIGINT'), 'the failed attempt no longer listens').toHaveLength(listenersBefore + 1);
      taking.stop.release();
      // Nothing heard: nothing passed on.
      const quiet = aRunStop(), after = aRunStop();
      after.stop.takeOver(quiet.stop);
      expect(after.stop.reason).toBeNull();
      after.stop.release();
      expect(process.listeners('SIGINT')).toHaveLength(listenersBefore);
    } finally {
      failed.stop.release();
      next.stop.release();
    }
  });

  it('a stopped run exits as shells report the signal: 130 for SIGINT or a request, 143 for SIGTERM, 129 for SIGHUP', () => {
    expect([stoppedExitCode('SIGINT'), stoppedExitCode('requested'), stoppedExitCode('SIGTERM'), stoppedExitCode('SIGHUP')]).toEqual([130, 130, 143, 129]);
  });

  it('answers SIGHUP (a closed terminal) as SIGTERM: a checkpoint at the next step, not an end at once', () => {
    const { stop, said, exits } = aRunStop();
    try {
      stop.phase = 'training';
      process.emit('SIGHUP', 'SIGHUP');
      expect(stop.reason).toBe('SIGHUP');
      expect(stop.stopSignal.aborted).toBe(true);
      expect(exits).toEqual([]);
      expect(said).toEqual(['\nSIGHUP received: stopping at the next step, with a checkpoint (again to quit now)']);
    } finally {
      stop.release();
    }
    expect(process.listeners('SIGHUP')).not.toContain((stop as unknown as { onSignal: unknown }).onSignal);
  });
});
