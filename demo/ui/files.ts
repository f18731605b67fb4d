// The user's own dataset: IDX files (plain or .gz) dropped on the page or picked. Each file is
// sorted by its header (3 dimensions: images, 1: labels) and, when two files of a kind are given,
// by name (t10k/test: test split), so the order in which files arrive does not matter. A file
// that is not IDX (a README, a picture) or cannot be read (a dropped folder) is listed as ignored
// rather than blocking Start. The bytes go to the worker, which parses and validates them with
// the library's IDX reader.
import { heldOutCount, TEST_LIMIT } from '../shared/data-limits';
import type { DataSource, IdxPair } from '../shared/protocol';
import { gunzip } from '../../src/data/idx';

interface Picked {
  file: File; bytes: ArrayBuffer; ndims: number; test: boolean;
  /** A label file's labels (null for an image file, or a label file the worker's reader will refuse). */
  labels: Uint8Array | null;
}
interface Ignored { file: File; why: string }

/** The IDX header's dimension count (byte 3), decompressing the start of gzip files. */
async function idxDims(bytes: ArrayBuffer): Promise<number> {
  const head = new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
  if (head[0] !== 0x1f || head[1] !== 0x8b) return head.length === 4 && head[0] === 0 && head[1] === 0 ? head[3] : -1;
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  try {
    const { value } = await reader.read();
    return value && value.length >= 4 && value[0] === 0 && value[1] === 0 ? value[3] : -1;
  } catch {
    return -1;
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/**
 * Most bytes a picked label file is inflated to here: 2^24 labels and the header. A label file
 * past it (or a small file that inflates without end) decides nothing on the page; the worker
 * reads it at Start with the library's reader.
 */
export const MAX_LABEL_FILE_BYTES = 8 + 2 ** 24;

/** The IDX label file's bytes, decompressed when they are gzip's (at most MAX_LABEL_FILE_BYTES). */
async function labelFileBytes(bytes: ArrayBuffer, name: string): Promise<Uint8Array> {
  const head = new Uint8Array(bytes, 0, Math.min(2, bytes.byteLength));
  if (head[0] !== 0x1f || head[1] !== 0x8b) return new Uint8Array(bytes);
  return gunzip(new Uint8Array(bytes), name, MAX_LABEL_FILE_BYTES);
}

/**
 * The labels of an IDX label file (idx1 of unsigned bytes: a 4-byte magic 0 0 8 1, a big-endian
 * count, then one byte a label), or null when it is not exactly that: the worker's reader refuses
 * such a file at Start and says why, and until then it decides nothing on the page.
 */
async function idxLabels(bytes: ArrayBuffer, name: string): Promise<Uint8Array | null> {
  try {
    const all = await labelFileBytes(bytes, name);
    if (all.length < 8 || all[0] !== 0 || all[1] !== 0 || all[2] !== 0x08 || all[3] !== 1) return null;
    const count = new DataView(all.buffer, all.byteOffset, 8).getUint32(4);
    return all.length === 8 + count && count > 0 ? all.subarray(8) : null;
  } catch {
    return null;
  }
}

const largest = (labels: Uint8Array): number => labels.reduce((top, v) => Math.max(top, v), 0);

export class DatasetFiles {
  private picked: Picked[] = [];
  private ignored: Ignored[] = [];

  constructor(private readonly list: HTMLElement, private readonly onChange: () => void) {}

  async add(files: ArrayLike<File>): Promise<void> {
    for (const file of Array.from(files)) {
      this.ignored = this.ignored.filter((i) => i.file.name !== file.name);
      let bytes: ArrayBuffer;
      try {
        bytes = await file.arrayBuffer();
      } catch {
        this.ignored.push({ file, why: 'could not be read (a folder?)' });
        continue;
      }
      const ndims = await idxDims(bytes);
      if (ndims !== 1 && ndims !== 3) {
        this.ignored.push({ file, why: 'not an IDX image (idx3) or label (idx1) file' });
        continue;
      }
      const test = /t10k|test/i.test(file.name);
      // A file of the same kind and split replaces the earlier one.
      this.picked = this.picked.filter((p) => !(p.ndims === ndims && p.test === test));
      this.picked.push({ file, bytes, ndims, test, labels: ndims === 1 ? await idxLabels(bytes, file.name) : null });
    }
    this.render();
    this.onChange();
  }

  clear(): void {
    this.picked = [];
    this.ignored = [];
    this.render();
    this.onChange();
  }

  /** A lone image (or label) file is the training split whatever its name; of two, the t10k/test one is the test split. */
  private isTest(p: Picked): boolean {
    return p.test && this.picked.some((q) => q !== p && q.ndims === p.ndims);
  }

  private find(ndims: number, test: boolean): Picked | undefined {
    return this.picked.find((p) => p.ndims === ndims && this.isTest(p) === test);
  }

  /**
   * The classes a conditional model on these files has, counted as the worker counts them: one per
   * label value up to the largest among the `subset` training examples it keeps and its test
   * examples (the test file's first TEST_LIMIT, or the training file's held-out tail). Null while
   * the labels are missing or would be refused.
   */
  classes(subset: number): number | null {
    const trainFile = this.find(1, false), testFile = this.find(1, true);
    const train = trainFile?.labels;
    if (!train || (testFile && !testFile.labels)) return null;
    const held = testFile ? 0 : heldOutCount(train.length);
    const test = testFile ? testFile.labels! : train.subarray(train.length - held);
    const kept = train.subarray(0, Math.min(subset, train.length - held));
    return Math.max(largest(kept), largest(test.subarray(0, TEST_LIMIT))) + 1;
  }

  /** Whether no file is listed (taken or ignored). */
  get empty(): boolean {
    return this.picked.length === 0 && this.ignored.length === 0;
  }

  /** What is still missing before training can start, or null when the training pair is there. */
  missing(): string | null {
    if (!this.find(3, false)) return 'add a training image file (e.g. train-images-idx3-ubyte.gz)';
    if (!this.find(1, false)) return 'add a training label file (e.g. train-labels-idx1-ubyte.gz)';
    if (!!this.find(3, true) !== !!this.find(1, true)) return 'add both test files (images and labels) or neither';
    return null;
  }

  source(): DataSource {
    const problem = this.missing();
    if (problem) throw Object.assign(new Error(`Your dataset is incomplete: ${problem}.`), { name: 'DataError' });
    const pair = (test: boolean): IdxPair | undefined => {
      const images = this.find(3, test), labels = this.find(1, test);
      return images && labels ? { images: images.bytes, labels: labels.bytes, imagesName: images.file.name, labelsName: labels.file.name } : undefined;
    };
    const trainImages = this.find(3, false)!.file.name;
    return { kind: 'files', name: trainImages.replace(/[-_.]?(train|images?|idx3|ubyte|gz)+/gi, '').replace(/[-_.]+$/, '') || 'custom', train: pair(false)!, test: pair(true) };
  }

  private render(): void {
    const item = (text: string, className = '') => Object.assign(document.createElement('li'), { textContent: text, className });
    this.list.replaceChildren(
      ...this.picked.map((p) => item(`${p.file.name} — ${this.isTest(p) ? 'test' : 'train'} ${p.ndims === 3 ? 'images' : 'labels'}, ${(p.file.size / 1e6).toFixed(1)} MB`)),
      ...this.ignored.map((i) => item(`${i.file.name} — ignored: ${i.why}`, 'bad')),
    );
  }
}
