// The TypeScript examples in README.md and docs/API.md are type-checked against the library's
// sources, so a renamed export, option or method breaks this test instead of a reader's first try.
// Each ```ts block compiles as a module of its own, its `webgpu-vae` imports mapped to src/ (the
// package's entry points, unbuilt). A block may use values the prose supplies (`device`,
// `xBuffer`, ...); those names are undeclared in the snippet, so "cannot find name" is the one
// error allowed, for the names listed in PROSE_NAMES alone: a call of an export the example forgot
// to import (or one since removed) is an error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as kernels from '../src/kernels';
import { FACTORY_PARAMETERS } from '../src/kernels';
import { tempDir } from './helpers/temp-dir';

const ROOT = join(__dirname, '..');
const DOCS = ['README.md', 'docs/API.md'];
/** TS2304 "Cannot find name 'x'" and TS2552 (the same, with a "did you mean"): a value the prose provides. */
const UNDECLARED_NAME = new Set([2304, 2552]);
/** The values the prose around the examples supplies: an app's device, buffers and data. */
const PROSE_NAMES = new Set(['adapter', 'device', 'batch', 'hidden', 'weights', 'biasBuf', 'xBuffer', 'staging', 'myBatch', 'myRows', 'myCount', 'myEncoder']);
/** Whether a diagnostic is "cannot find name" for a name the prose supplies. */
function proseSupplied(d: ts.Diagnostic): boolean {
  if (!UNDECLARED_NAME.has(d.code)) return false;
  const name = /Cannot find name '([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, ' '))?.[1];
  return name !== undefined && PROSE_NAMES.has(name);
}

interface Snippet { doc: string; line: number; code: string }

function snippetsOf(doc: string): Snippet[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    found.push({ doc, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

const snippets = DOCS.flatMap(snippetsOf);
const dir = tempDir('webgpu-vae-snippets-');

/** Compiles every snippet in one program (the sources are checked once) and returns each one's errors. */
function check(list: Snippet[]): Map<Snippet, string[]> {
  const files = list.map((s, i) => {
    const file = join(dir, `snippet-${i}.ts`);
    // `export {}` keeps each snippet a module of its own (top-level await, no shared names).
    writeFileSync(file, `${s.code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: ['@webgpu/types', 'node'], typeRoots: [join(ROOT, 'node_modules/@types'), join(ROOT, 'node_modules/@webgpu')],
    strict: true, noEmit: true, skipLibCheck: true, baseUrl: ROOT,
    paths: { 'webgpu-vae': ['src/index.ts'], 'webgpu-vae/kernels': ['src/kernels.ts'], 'webgpu-vae/node': ['src/node.ts'] },
  });
  const result = new Map<Snippet, string[]>();
  list.forEach((s, i) => {
    const source = program.getSourceFile(files[i])!;
    const errors = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      .filter((d) => !proseSupplied(d))
      .map((d) => {
        const at = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
        return `${s.doc}:${s.line + at}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
    result.set(s, errors);
  });
  return result;
}

describe('the documentation examples type-check', () => {
  it('README.md and docs/API.md hold TypeScript examples of all three entry points', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    const imported = new Set(snippets.flatMap((s) => [...s.code.matchAll(/from '(webgpu-vae[^']*)'/g)].map((m) => m[1])));
    expect([...imported].sort()).toEqual(['webgpu-vae', 'webgpu-vae/kernels', 'webgpu-vae/node']);
  });

  it('every example compiles against src/, with only prose-supplied names undeclared', { timeout: 120_000 }, () => {
    const errors = [...check(snippets).values()].flat();
    expect(errors).toEqual([]);
  });

  it('the check catches an example that calls the API wrongly', { timeout: 120_000 }, () => {
    const wrong: Snippet[] = [
      { doc: 'wrong', line: 1, code: `import { VAE } from 'webgpu-vae';\nconst vae = await VAE.create({ hidden: [400], latnet: 20 }, { device, batch: 128 });` },
      { doc: 'wrong', line: 1, code: `import { matmulKernel } from 'webgpu-vae/kernels';` },
      { doc: 'wrong', line: 1, code: `import { VAE } from 'webgpu-vae';\ndeclare const vae: VAE;\nawait vae.trainSteps(batch);` },
      // An export used without its import reads as a name the prose would supply; it is not one.
      { doc: 'wrong', line: 1, code: `import { VAE } from 'webgpu-vae';\nconst vae: VAE = await loadCheckpoint(new Uint8Array(0), { device: device });` },
    ];
    const errors = check(wrong);
    expect(errors.get(wrong[0])!.join('\n')).toMatch(/'latnet' does not exist/);
    expect(errors.get(wrong[1])!.join('\n')).toMatch(/has no exported member 'matmulKernel'/);
    expect(errors.get(wrong[2])!.join('\n')).toMatch(/Property 'trainSteps' does not exist/);
    expect(errors.get(wrong[3])!.join('\n')).toMatch(/Cannot find name 'loadCheckpoint'/);
    expect(errors.get(wrong[3])!.join('\n')).not.toMatch(/'device'/);
  });
});

describe("docs/API.md's table of kernel factory parameters", () => {
  it('lists every factory exported by webgpu-vae/kernels with exactly the names it accepts', () => {
    const all = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
    const start = all.indexOf('| factory | parameters |');
    expect(start).toBeGreaterThan(0);
    const doc = all.slice(start, all.indexOf('\n\n', start));
    const rows = [...doc.matchAll(/^\| `(\w+)` \| ((?:`\w+`(?:, )?)+) \|$/gm)].map((m) => [m[1], [...m[2].matchAll(/`(\w+)`/g)].map((n) => n[1])]);
    expect(Object.fromEntries(rows)).toEqual(FACTORY_PARAMETERS);
    for (const name of Object.keys(FACTORY_PARAMETERS)) expect(typeof (kernels as Record<string, unknown>)[name], name).toBe('function');
  });
});
