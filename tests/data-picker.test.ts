// How the demo collects the user's pictures from a drop (demo/ui/data-picker.ts): a dropped
// folder arrives as one file-system entry and is walked recursively, each directory read in the
// batches readEntries hands over until an empty one; a drop without entries (synthetic, or a
// browser without webkitGetAsEntry) falls back to the plain file list. The page's own inputs
// (files, a chosen folder) and a drop of files are driven in tests/e2e/images.test.ts.
// The IDX file list (demo/ui/files.ts) lists a stray file or a folder as ignored instead of
// refusing to start, and can be cleared; neither zone takes a drop while the settings are locked.
// An Image size out of range is a settings refusal, titled as the form's other fields are.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DataPicker, droppedFiles, filesUnder, type DataPickerElements } from '../demo/ui/data-picker';
import { DatasetFiles } from '../demo/ui/files';
import { describeError } from '../demo/ui/errors';

const file = (name: string) => new File([name], name, { type: 'image/png' });

function fileEntry(name: string): FileSystemEntry {
  return { isFile: true, isDirectory: false, name, file: (ok: (f: File) => void) => ok(file(name)) } as unknown as FileSystemEntry;
}

/** A directory whose reader hands over its children `perBatch` at a time, then an empty batch. */
function dirEntry(name: string, children: FileSystemEntry[], perBatch = 2): FileSystemEntry {
  return {
    isFile: false, isDirectory: true, name,
    createReader: () => {
      let at = 0;
      return { readEntries: (ok: (batch: FileSystemEntry[]) => void) => { const batch = children.slice(at, at + perBatch); at += batch.length; ok(batch); } };
    },
  } as unknown as FileSystemEntry;
}

describe('pictures from a drop', () => {
  it('walks a dropped folder tree through every readEntries batch', async () => {
    const tree = dirEntry('photos', [
      fileEntry('a.png'), fileEntry('b.png'), fileEntry('c.jpg'),
      dirEntry('more', [fileEntry('d.png'), dirEntry('deeper', [fileEntry('e.png')]), fileEntry('f.png')], 1),
      dirEntry('empty', []),
    ]);
    const names = (await filesUnder(tree)).map((f) => f.name);
    expect(names).toEqual(['a.png', 'b.png', 'c.jpg', 'd.png', 'e.png', 'f.png']);
  });

  it('takes entries when the drop has them, and the file list when it has none', async () => {
    const withEntries = {
      items: [{ webkitGetAsEntry: () => dirEntry('x', [fileEntry('1.png'), fileEntry('2.png'), fileEntry('3.png')]) }, { webkitGetAsEntry: () => fileEntry('4.png') }],
      files: [file('ignored.png')],
    } as unknown as DataTransfer;
    expect((await droppedFiles(withEntries)).map((f) => f.name)).toEqual(['1.png', '2.png', '3.png', '4.png']);
    const withoutEntries = { items: [{ webkitGetAsEntry: () => null }], files: [file('p.png'), file('q.jpg')] } as unknown as DataTransfer;
    expect((await droppedFiles(withoutEntries)).map((f) => f.name)).toEqual(['p.png', 'q.jpg']);
    expect(await droppedFiles(null)).toEqual([]);
  });
});

/** An IDX file's first bytes: magic 0x0000080N (N dimensions) and one count. */
const idx = (dims: number, name: string) => new File([new Uint8Array([0, 0, 8, dims, 0, 0, 0, 1])], name);
/** A dropped folder as the plain file list gives it: a File whose bytes cannot be read. */
const folder = (name: string) => Object.assign(new File([], name), { arrayBuffer: () => Promise.reject(new DOMException('A requested file or directory could not be found', 'NotFoundError')) });

describe('the IDX file list', () => {
  // DatasetFiles draws its list with document.createElement; list items here are plain objects.
  beforeEach(() => vi.stubGlobal('document', { createElement: () => ({}) }));
  afterEach(() => vi.unstubAllGlobals());
  const listed = () => {
    const list = { items: [] as { textContent: string; className: string }[], replaceChildren(...items: never[]) { this.items = items; } };
    return { list, files: new DatasetFiles(list as unknown as HTMLElement, () => undefined) };
  };

  it('lists a file that is not IDX, or a folder, as ignored without blocking Start', async () => {
    const { list, files } = listed();
    await files.add([new File(['# notes'], 'README.md'), folder('digits')]);
    await files.add([idx(3, 'train-images-idx3-ubyte'), idx(1, 'train-labels-idx1-ubyte')]);
    expect(files.missing()).toBeNull();
    expect(files.source()).toMatchObject({ kind: 'files', train: { imagesName: 'train-images-idx3-ubyte', labelsName: 'train-labels-idx1-ubyte' } });
    expect(list.items.map((i) => i.textContent)).toEqual([
      'train-images-idx3-ubyte — train images, 0.0 MB',
      'train-labels-idx1-ubyte — train labels, 0.0 MB',
      'README.md — ignored: not an IDX image (idx3) or label (idx1) file',
      'digits — ignored: could not be read (a folder?)',
    ]);
    expect(list.items.slice(2).every((i) => i.className === 'bad')).toBe(true);
  });

  it('counts the classes of gzipped label files, and nothing from a corrupt one or one past the cap', async () => {
    const { gzipSync } = await import('node:zlib');
    const labels = (values: number[]) => Uint8Array.from([0, 0, 8, 1, 0, 0, 0, values.length, ...values]);
    const { files } = listed();
    const images = new File([Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1])], 'train-images-idx3-ubyte');
    const values = Array.from({ length: 40 }, (_, i) => i % 13);
    await files.add([images, new File([gzipSync(labels(values))], 'train-labels-idx1-ubyte.gz')]);
    expect(files.classes(40)).toBe(13);
    // Corrupt gzip decides nothing (the worker's reader refuses the file at Start, saying why).
    const { files: other } = listed();
    await other.add([images, new File([gzipSync(labels(values)).subarray(0, 20)], 'train-labels-idx1-ubyte.gz')]);
    expect(other.classes(40)).toBeNull();
    // Nor does one that inflates past MAX_LABEL_FILE_BYTES (a valid file of 2^24 + 1 labels
    // here, 16 kB gzipped): the page stops inflating there.
    const many = 2 ** 24 + 1;
    const big = new Uint8Array(8 + many);
    big.set([0, 0, 8, 1]);
    new DataView(big.buffer).setUint32(4, many);
    const { files: third } = listed();
    await third.add([images, new File([gzipSync(big)], 'train-labels-idx1-ubyte.gz')]);
    expect(third.classes(40)).toBeNull();
  });

  it('empties the list with clear', async () => {
    const { list, files } = listed();
    await files.add([idx(3, 'train-images-idx3-ubyte'), new File(['x'], 'notes.txt')]);
    expect(files.empty).toBe(false);
    files.clear();
    expect([files.empty, list.items.length, files.missing()]).toEqual([true, 0, 'add a training image file (e.g. train-images-idx3-ubyte.gz)']);
  });
});

/** Stand-ins for the picker's elements: event targets with the few properties it reads. */
function pickerElements() {
  const target = <T extends object>(props: T) => Object.assign(new EventTarget(), props);
  const zone = () => target({ hidden: false, classList: { add: () => undefined, remove: () => undefined } });
  return {
    select: target({ value: 'images' }), imageZone: zone(), imageFiles: target({ disabled: false, files: null }), imageFolder: target({ disabled: false, files: null }),
    imageCount: { textContent: '' }, imageSize: { value: '32' }, imageChannels: { value: '3' },
    idxZone: zone(), idxFiles: target({ disabled: false, files: null }), idxClear: target({ hidden: true }),
  };
}

/** Drops `files` on `zone` as the browser does, and lets the picker read them. */
async function drop(zone: EventTarget, files: File[]): Promise<void> {
  zone.dispatchEvent(Object.assign(new Event('drop', { cancelable: true }), { dataTransfer: { items: [], files } }));
  await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('drops while the settings are locked', () => {
  beforeEach(() => vi.stubGlobal('document', { createElement: () => ({}) }));
  afterEach(() => vi.unstubAllGlobals());

  it('are refused on both zones, as their file inputs are, and taken again once unlocked', async () => {
    const el = pickerElements();
    const idxFiles = new DatasetFiles({ replaceChildren: () => undefined } as unknown as HTMLElement, () => undefined);
    const picker = new DataPicker(el as unknown as DataPickerElements, idxFiles, 'http://127.0.0.1/', () => undefined);
    await drop(el.imageZone, [file('a.png'), file('b.png')]);
    expect(el.imageCount.textContent).toMatch(/^2 files chosen/);

    // A model exists: the form, file inputs included, is disabled.
    el.imageFiles.disabled = el.idxFiles.disabled = true;
    await drop(el.imageZone, [file('c.png')]);
    await drop(el.idxZone, [idx(3, 'train-images-idx3-ubyte')]);
    expect(el.imageCount.textContent, 'the count still describes the pictures being trained on').toMatch(/^2 files chosen/);
    expect(idxFiles.empty).toBe(true);

    el.imageFiles.disabled = el.idxFiles.disabled = false;
    await drop(el.imageZone, [file('c.png')]);
    await drop(el.idxZone, [idx(3, 'train-images-idx3-ubyte')]);
    expect(el.imageCount.textContent).toMatch(/^1 file chosen/);
    expect(idxFiles.empty).toBe(false);
    picker.update();
    expect(el.idxClear.hidden, 'Clear files is offered once files are listed').toBe(false);
  });
});

describe('an Image size out of range', () => {
  beforeEach(() => vi.stubGlobal('document', { createElement: () => ({}) }));
  afterEach(() => vi.unstubAllGlobals());

  it('is refused as a setting (titled as the other fields are), naming the field and its range', () => {
    const el = pickerElements();
    el.imageSize.value = '3';
    const idxFiles = new DatasetFiles({ replaceChildren: () => undefined } as unknown as HTMLElement, () => undefined);
    const picker = new DataPicker(el as unknown as DataPickerElements, idxFiles, 'http://127.0.0.1/', () => undefined);
    let refusal: Error | undefined;
    try { picker.source(0); } catch (e) { refusal = e as Error; }
    expect(refusal?.message).toMatch(/^Image size must be a whole number of pixels from 8 to 256 .*got "3"$/);
    expect(describeError(refusal?.name === 'DataError' ? 'data' : 'config', refusal!.message).title).toBe(describeError('config', '').title);
    expect(refusal?.name).toBe('ConfigError');
  });
});
