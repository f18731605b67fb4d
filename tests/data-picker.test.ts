// How the demo collects the user's pictures from a drop (demo/ui/data-picker.ts): a dropped
// folder arrives as one file-system entry and is walked recursively, each directory read in the
// batches readEntries hands over until an empty one; a drop without entries (synthetic, or a
// browser without webkitGetAsEntry) falls back to the plain file list. The page's own inputs
// (files, a chosen folder) and a drop of files are driven in tests/e2e/images.test.ts.
import { describe, expect, it } from 'vitest';
import { droppedFiles, filesUnder } from '../demo/ui/data-picker';

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
