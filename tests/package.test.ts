// The package as a consumer sees it: `npm run build:lib` output imported by name from a separate
// project in a plain Node process, one kernel run on the consumer's own device and checked against
// the float64 reference; the model's buffer/device hygiene on a caller's device; and the package
// as a user installs it: `npm pack` (whose prepack builds dist/), the tarball installed into an
// empty project, then the installed `webgpu-vae` command (--help and a 4-step training run) and
// the three entry points imported by name from that project.
//
// Both build dist/ in this repository, one by `npm run build:lib`, the other by deleting it and
// letting `npm pack` rebuild it. They share this file because test files run side by side
// (tests/run-order.ts) and the tests of one file run in order: in two files, one could delete
// dist/ while the other reads it.
//
// No network for the install: the empty project gets a lockfile made from this repository's own
// (the tarball for webgpu-vae, the repository's locked versions for its dependencies), so `npm ci`
// takes every dependency from the npm cache by its integrity, which `npm ci` of this repository
// has filled. Entries without a `resolved` URL get the registry's tarball URL, so npm needs no
// package metadata (which the cache may not hold) to find them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { VAE } from '../src/model/vae';
import { expectClose } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { matmulRef } from './reference/dense';
import { tempDir } from './helpers/temp-dir';

const ROOT = resolve(__dirname, '..');

/** Building the library and running it from another project takes minutes on a busy machine; this only stops a hung build. */
const BUILD_PATIENCE = 1_200_000;

describe('built package', { timeout: BUILD_PATIENCE }, () => {
  it('builds dist/ with declarations and runs a kernel when imported by name from another project', () => {
    execFileSync('npm', ['run', 'build:lib'], { cwd: ROOT, stdio: 'pipe' });
    for (const f of ['index.js', 'kernels.js', 'node.js', 'types/src/index.d.ts', 'types/src/kernels.d.ts']) {
      expect(existsSync(join(ROOT, 'dist', f)), f).toBe(true);
    }
    // The browser entry points and every chunk they import name no Node module, so that a web
    // app's bundler (Vite, webpack) neither warns nor stubs one.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(join(ROOT, 'dist', file), 'utf8');
      expect(code, `dist/${file}`).not.toMatch(/(from|import\()\s*["'](node:|fs|path|module)["'/]/);
      for (const [, chunk] of code.matchAll(/from\s*["']\.\/([^"']+)["']/g)) visit(chunk);
    };
    visit('index.js');
    visit('kernels.js');
    expect(seen.size).toBeGreaterThan(2);
    const consumer = tempDir('webgpu-vae-consumer-');
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(ROOT, join(consumer, 'node_modules', 'webgpu-vae'));
    writeFileSync(join(consumer, 'package.json'), '{"type":"module"}');
    writeFileSync(join(consumer, 'main.js'), `
      import { compile, matmul } from 'webgpu-vae/kernels';
      import { acquireNodeDevice, gentleWait } from 'webgpu-vae/node';
      import { VAE } from 'webgpu-vae';
      const { device } = await acquireNodeDevice();
      const [M, N, K] = [5, 3, 4];
      const a = Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
      const b = Float32Array.from({ length: K * N }, (_, i) => (i % 5) * 0.5 - 1);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const bufs = [a, b].map((x) => { const g = device.createBuffer({ size: x.byteLength, usage }); device.queue.writeBuffer(g, 0, x); return g; });
      const c = device.createBuffer({ size: M * N * 4, usage });
      const k = await compile(device, matmul({ M, N, K }));
      k.bind({ a: bufs[0], b: bufs[1], c }).run();
      const read = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(c, 0, read, 0, M * N * 4); device.queue.submit([enc.finish()]);
      await gentleWait(() => read.mapAsync(GPUMapMode.READ));
      console.log(JSON.stringify({ a: [...a], b: [...b], c: [...new Float32Array(read.getMappedRange())], vae: typeof VAE.create }));
      device.destroy();
    `);
    const out = execFileSync(process.execPath, ['main.js'], { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.vae).toBe('function');
    expectClose(r.c, matmulRef(r.a, r.b, 5, 3, 4), { atol: 1e-5, rtol: 1e-5 }, 'matmul from dist/');

    // The declarations as a Node ESM project reads them (moduleResolution nodenext), library files
    // checked too: names keep their types, so a consumer's slip is caught, not typed any. The
    // project names no WebGPU types of its own: the declarations bring @webgpu/types with them.
    writeFileSync(join(consumer, 'typed.ts'), [
      "import { compile, matmul } from 'webgpu-vae/kernels';",
      "import { ConfigError, VAE } from 'webgpu-vae';",
      "import { acquireNodeDevice } from 'webgpu-vae/node';",
      'export const uses = [compile, matmul({ M: 5, N: 3, K: 4 }), new ConfigError("x"), VAE.create, acquireNodeDevice];',
      'export const slip: number = matmul;',
      'matmul({ M: 1, N: 1, K: 1, transb: true });',
      // Arrays the API returns go where an ArrayBuffer-backed view is required (strict TS 5.7+ typed arrays).
      "import { saveCheckpoint } from 'webgpu-vae';",
      'export async function handOver(vae: VAE, device: GPUDevice, buffer: GPUBuffer): Promise<[Blob, ArrayBuffer]> {',
      '  device.queue.writeBuffer(buffer, 0, await vae.sample(4));',
      '  return [new Blob([await saveCheckpoint(vae)]), (await vae.flatParameters()).buffer];',
      '}',
    ].join('\n'));
    const program = ts.createProgram([join(consumer, 'typed.ts')], {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    expect(diagnostics).toHaveLength(2);
    expect(diagnostics[0]).toMatch(/typed\.ts:5 TS2322 .*MatmulParams.* is not assignable to type 'number'/);
    expect(diagnostics[1]).toMatch(/typed\.ts:6 TS2561 .*'transb' does not exist in type 'MatmulParams'/);

    // The same built kernels entry on Deno's own WebGPU (wgpu), when a Deno binary is installed.
    const deno = join(ROOT, 'node_modules', '@deno', 'linux-x64-glibc', 'deno');
    if (!existsSync(deno)) {
      // CI installs Deno (the `deno` development dependency's linux-x64 build); elsewhere say clearly that this part did not run.
      if (process.env.CI) throw new Error(`no Deno binary at ${deno}: the CI install should have provided it`);
      console.warn('package test: SKIPPED the Deno check (no Deno binary for this platform)');
      return;
    }
    writeFileSync(join(consumer, 'deno.js'), `
      import { compile, matmul } from ${JSON.stringify(join(ROOT, 'dist', 'kernels.js'))};
      const device = await (await navigator.gpu.requestAdapter()).requestDevice();
      const [M, N, K] = [5, 3, 4];
      const a = Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
      const b = Float32Array.from({ length: K * N }, (_, i) => (i % 5) * 0.5 - 1);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const [ga, gb] = [a, b].map((x) => { const g = device.createBuffer({ size: x.byteLength, usage }); device.queue.writeBuffer(g, 0, x); return g; });
      const c = device.createBuffer({ size: M * N * 4, usage });
      (await compile(device, matmul({ M, N, K }))).bind({ a: ga, b: gb, c }).run();
      const read = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(c, 0, read, 0, M * N * 4); device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      console.log(JSON.stringify({ a: [...a], b: [...b], c: [...new Float32Array(read.getMappedRange())] }));
    `);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    if (!env.VK_ICD_FILENAMES && !existsSync('/dev/nvidia0') && !existsSync('/dev/dri/renderD128')) env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    const dout = execFileSync(deno, ['run', '-A', 'deno.js'], { cwd: consumer, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const d = JSON.parse(dout.trim().split('\n').pop()!);
    expectClose(d.c, matmulRef(d.a, d.b, 5, 3, 4), { atol: 1e-5, rtol: 1e-5 }, 'matmul from dist/ on Deno');
  });
});

describe('model on a caller\'s device', () => {
  it('creates no device, and destroy() frees every buffer it created and none it did not', async () => {
    const { device } = await gpu();
    const mine = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const created = new Set<GPUBuffer>(), destroyed = new Set<GPUBuffer>();
    const createBuffer = device.createBuffer.bind(device);
    const requestDevice = GPUAdapter.prototype.requestDevice;
    let devicesRequested = 0;
    GPUAdapter.prototype.requestDevice = function (this: GPUAdapter, ...args) {
      devicesRequested++;
      return requestDevice.apply(this, args);
    };
    device.createBuffer = (desc: GPUBufferDescriptor) => {
      const b = createBuffer(desc);
      const destroy = b.destroy.bind(b);
      b.destroy = () => { destroyed.add(b); destroy(); };
      created.add(b);
      return b;
    };
    try {
      const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 8 });
      await vae.trainStep(new Float32Array(8 * 784));
      await vae.sample(3);
      await vae.readLosses();
      expect(created.size).toBeGreaterThan(vae.bufferCount);
      vae.destroy();
      const leaked = [...created].filter((b) => !destroyed.has(b)).map((b) => b.label);
      expect(leaked).toEqual([]);
      expect(destroyed.has(mine)).toBe(false);
      expect(devicesRequested).toBe(0);
      device.queue.writeBuffer(mine, 0, new Float32Array(16)); // still valid, device still alive
      await device.queue.onSubmittedWorkDone();
    } finally {
      device.createBuffer = createBuffer;
      GPUAdapter.prototype.requestDevice = requestDevice;
      mine.destroy();
    }
  });
});

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
    const work = tempDir('webgpu-vae-install-');
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
  // README.md links docs/API.md and docs/ARCHITECTURE.md, so the installed README's links lead somewhere.
  // The PyTorch twin ships, as the README's PyTorch examples import it from the package.
  for (const f of ['dist/index.js', 'dist/kernels.js', 'dist/node.js', 'dist/types/src/index.d.ts', 'bin/webgpu-vae.mjs', 'src/cli/main.ts', 'docs/API.md', 'docs/ARCHITECTURE.md', 'tests/torch/vae_twin.py']) expect(files, f).toContain(f);
  // The repository's tools (benchmarks, test runners) stay out: they need bench/ and tests/, which do not ship.
  expect(files.filter((f) => /^(bin\/bench|scripts\/(?!setup-debian)|bench\/|tests\/(?!torch\/vae_twin\.py$))/.test(f))).toEqual([]);
  expect(files).toContain('LICENSE');

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

  // CommonJS code reaches the same modules through require() on a Node that loads ES modules
  // there (20.19+, 22.12+), which needs a 'default' condition beside 'import' in the exports.
  if ((process.features as { require_module?: boolean }).require_module) {
    writeFileSync(join(project, 'requires.cjs'), `
      const main = require('webgpu-vae'), kernels = require('webgpu-vae/kernels'), node = require('webgpu-vae/node');
      console.log(JSON.stringify([typeof main.VAE?.create, typeof kernels.compile, typeof node.acquireNodeDevice]));
    `);
    expect(JSON.parse(run(process.execPath, ['requires.cjs'], project))).toEqual(['function', 'function', 'function']);
  }
}
