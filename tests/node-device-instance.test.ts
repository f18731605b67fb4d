// A device from acquireNodeDevice() keeps its Dawn instance while the device object is reachable,
// destroyed or not: once the instance was collected, the next call on the destroyed device aborted
// the process inside Dawn (std::system_error), where an app expects an error it can catch.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// tsx as a loader in this very process (its CLI would start a second one without --expose-gc).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

describe('acquireNodeDevice: the Dawn instance lives as long as its device', () => {
  it('calls on a destroyed device after garbage collection are refused, not a crash', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', tsxLoader, 'tests/fixtures/destroyed-device-after-gc.ts'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/calls done; compile refused 10 of 10/);
  });
});
