// The `wgsl` template tag (npm `wgsl-preprocessor`): `${}` interpolates numbers and snippets,
// `#if ${flag}` / `#elif` / `#else` / `#endif` select kernel variants. The package ships no
// `main` entry, so it is imported by file here, once, for every kernel.
export { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
