import { defineConfig } from 'vite';

// Library build (`npm run build:lib`): ESM bundles for the three entry points in dist/, with
// declarations emitted by tsc (tsconfig.build.json) beside them. Node built-ins and the native
// Dawn addon stay external so the same files load in browsers, Node, Deno and bundlers.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: {
      entry: { index: 'src/index.ts', kernels: 'src/kernels.ts', node: 'src/node.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      external: [/^node:/, 'webgpu'],
    },
  },
});
