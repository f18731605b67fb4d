// Gives the relative imports of the emitted declarations (dist/types) their file extensions.
// tsc writes them as the sources have them (`from './model/vae'`), which bundler resolution reads
// but Node's ESM resolution (a consumer's `moduleResolution: node16 | nodenext`) refuses with
// TS2834, leaving every re-exported name `any`. Each specifier becomes the `.js` path whose
// declarations tsc emitted (`./model/vae.js`, or `./dir/index.js` for a folder); one that matches
// no emitted file fails the build, so a missed form cannot ship.
//
//   node scripts/dts-extensions.mjs dist/types
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = process.argv[2];
if (!root || !existsSync(root)) {
  console.error(`dts-extensions: give the declarations folder (e.g. dist/types); got ${root ?? 'nothing'}`);
  process.exit(2);
}

/** `from '...'`, `import('...')` and side-effect `import '...'` with a relative specifier. */
const RELATIVE = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}(?:\/[^'"]*)?)\2/g;

function declarationFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? declarationFiles(path) : name.endsWith('.d.ts') ? [path] : [];
  });
}

const unresolved = [];
let rewritten = 0;
for (const file of declarationFiles(root)) {
  const text = readFileSync(file, 'utf8');
  const out = text.replace(RELATIVE, (whole, lead, quote, spec) => {
    if (spec.endsWith('.js')) return whole;
    const target = join(dirname(file), spec);
    const folder = spec.replace(/\/$/, '');
    const full = existsSync(`${target}.d.ts`) ? `${spec}.js` : existsSync(join(target, 'index.d.ts')) ? `${folder}/index.js` : null;
    if (full === null) {
      unresolved.push(`${relative(root, file)}: ${spec}`);
      return whole;
    }
    rewritten++;
    return `${lead}${quote}${full}${quote}`;
  });
  if (out !== text) writeFileSync(file, out);
}
if (unresolved.length) {
  console.error(`dts-extensions: ${unresolved.length} relative import(s) match no emitted declaration file:\n  ${unresolved.join('\n  ')}`);
  process.exit(1);
}
console.log(`dts-extensions: ${rewritten} relative imports given their .js extension`);
