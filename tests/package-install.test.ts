// The package as a user installs it: `npm pack` (whose prepack builds dist/), the tarball installed
// into an empty project, then the installed `webgpu-vae` command (--help and a 4-step training run)
// and the three entry points imported by name from that project.
//
// No network: the empty project gets a lockfile made from this repository's own (the tarball for
// webgpu-vae, the repository's locked versions for its dependencies), so `npm ci` takes every
// dependency from the npm cache by its integrity, which `npm ci` of this repository has filled.
// Entries without a `resolved` URL get the registry's tarball URL, so npm needs no package
// metadata (which the cache may not hold) to find them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';

const ROOT = resolve(__dirname, '..');

type LockEntry = { version?: string; resolved?: string; integrity?: string; dev?: boolean; devOptional?: boolean; link?: boolean; [k: string]: unknown };

/** The empty project's lockfile: webgpu-vae from the tarball, its dependencies as this repository locks them. */
function consumerLock(tarball: string): object {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { 'webgpu-vae': tarball } },
    'node_modules/webgpu-vae': {
      version: pkg.version, resolved: tarball, license: pkg.license, bin: pkg.bin, engines: pkg.engines,
      dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Development-only packages and workspace links are not the package's; other platforms' optional builds stay listed (npm skips them).
    if (!path || entry.dev || entry.devOptional || entry.link) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    packages[path] = { ...entry, resolved };
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

const run = (cmd: string, args: string[], cwd: string, timeout = 240_000) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });

describe('npm pack, installed into an empty project', () => {
  it('ships dist/, installs offline, and its CLI and three entry points work from there', () => {
    const work = mkdtempSync(join(tmpdir(), 'webgpu-vae-install-'));
    try {
      packInstallAndRun(work);
    } finally {
      rmSync(work, { recursive: true, force: true }); // the installed project is about 300 MB
    }
  }, 300_000);
});

function packInstallAndRun(work: string): void {
  // Without dist/ on disk, only the prepack build can put it into the tarball.
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  // stdout holds the prepack build's output, then the JSON report (an array starting on a line of its own).
  const packOut = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[$/m))) as { filename: string; files: { path: string }[] }[];
  const files = packed[0].files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/kernels.js', 'dist/node.js', 'dist/types/src/index.d.ts', 'bin/webgpu-vae.mjs', 'src/cli/main.ts']) expect(files, f).toContain(f);

  const project = join(work, 'consumer');
  mkdirSync(project);
  const tarball = `file:../${packed[0].filename}`;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'webgpu-vae': tarball } }));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(tarball), null, 1));
  run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], project);
  expect(existsSync(join(project, 'node_modules', 'webgpu-vae', 'dist', 'index.js'))).toBe(true);

  const bin = join(project, 'node_modules', '.bin', 'webgpu-vae');
  expect(run(bin, ['--help'], project)).toMatch(/^usage: webgpu-vae <command>[\s\S]*train[\s\S]*eval[\s\S]*sample/);

  const lines = run(bin, ['train', '--limit', '128', '--test-limit', '64', '--epochs', '1', '--batch', '32', '--hidden', '32', '--latent', '4', '--out', 'run', '--json'], project)
    .trim().split('\n').map((l) => JSON.parse(l));
  const epoch = lines.find((e) => e.event === 'epoch'), done = lines.find((e) => e.event === 'done');
  expect(epoch).toMatchObject({ epoch: 1, step: 4 });
  expect(Number.isFinite(epoch.test_loss)).toBe(true);
  expect(done.steps).toBe(4);
  const checkpoint = readCheckpoint(new Uint8Array(readFileSync(join(project, 'run', 'model.safetensors'))));
  expect(checkpoint.config).toMatchObject({ hidden: [32], latent: 4 });
  for (const f of ['samples.png', 'reconstructions.png', 'training-state.safetensors', 'metrics.jsonl']) expect(existsSync(join(project, 'run', f)), f).toBe(true);

  writeFileSync(join(project, 'imports.js'), `
    const main = await import('webgpu-vae');
    const kernels = await import('webgpu-vae/kernels');
    const node = await import('webgpu-vae/node');
    console.log(JSON.stringify({
      main: { VAE: typeof main.VAE?.create },
      kernels: { compile: typeof kernels.compile, matmul: typeof kernels.matmul },
      node: { acquireNodeDevice: typeof node.acquireNodeDevice, loadMnistNode: typeof node.loadMnistNode },
      from: import.meta.resolve('webgpu-vae'),
    }));
  `);
  const imported = JSON.parse(run(process.execPath, ['imports.js'], project));
  expect(imported).toMatchObject({
    main: { VAE: 'function' }, kernels: { compile: 'function', matmul: 'function' }, node: { acquireNodeDevice: 'function', loadMnistNode: 'function' },
  });
  expect(imported.from).toContain(join(project, 'node_modules', 'webgpu-vae', 'dist', 'index.js'));
}
