// Types for the untyped `wgsl-preprocessor` package: a template tag that resolves
// `#if ${cond}` / `#elif` / `#else` / `#endif` blocks and interpolates everything else.
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
