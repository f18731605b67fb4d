// How the demo's worker loads data (demo/worker/data.ts, generated.ts): the last set of each kind
// of source stays cached, so a restart with the same data does not load it again, but trying one
// set after another does not keep them all (pictures decoded at 256x256 RGB take about 1 GB per
// 5,000); and when none of the user's pictures can be decoded, the error says why, since the page
// shows no warnings. Decoding real pictures in a browser is in tests/e2e/images.test.ts.
import { encode } from 'fast-png';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadData } from '../demo/worker/data';
import { imageFileSplits } from '../demo/worker/generated';
import type { DataSource } from '../demo/shared/protocol';

/** An IDX file: magic 0x0000080N, the sizes, then `body`. */
function idxFile(dims: number[], body: Uint8Array): ArrayBuffer {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, 0x800 + dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.byteLength + body.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(body, header.byteLength);
  return out.buffer;
}

const files = (name: string): DataSource => ({
  kind: 'files', name,
  train: { images: idxFile([40, 4, 4], new Uint8Array(40 * 16).fill(9)), labels: idxFile([40], new Uint8Array(40)), imagesName: `${name}-images`, labelsName: `${name}-labels` },
});
const dsprites: DataSource = { kind: 'dsprites', colour: false, seed: 0 };

describe('the worker\'s data cache', () => {
  it('keeps the last set of each kind of source, and only that one', async () => {
    const first = await loadData(dsprites, 100);
    expect((await loadData(dsprites, 100)).train, 'the same set again comes from the cache').toBe(first.train);
    const mine = await loadData(files('mine'), 1000);
    await loadData(dsprites, 200); // another dSprites set replaces the first
    expect((await loadData(dsprites, 100)).train, 'the first set was let go').not.toBe(first.train);
    expect((await loadData(files('mine'), 1000)).train, 'a set of another kind stays').toBe(mine.train);
    await loadData(files('theirs'), 1000);
    expect((await loadData(files('mine'), 1000)).train).not.toBe(mine.train);
  });
});

describe('the user\'s pictures', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('when none can be decoded, the error gives the reasons', async () => {
    // What a browser answers for a file it cannot decode (e.g. HEIC named .jpg).
    vi.stubGlobal('createImageBitmap', async () => { throw new Error('The source image could not be decoded.'); });
    const pictures = ['a.png', 'b.jpg', 'c.jpeg', 'd.png', 'e.png', 'notes.txt'].map((n) => new File([new Uint8Array([1, 2, 3])], n));
    const error = await imageFileSplits({ kind: 'images', files: pictures, imageSize: 32, channels: 3, seed: 0 }).catch((e: Error) => e);
    expect((error as Error).name).toBe('DataError');
    const message = (error as Error).message;
    const lines = message.split('\n');
    expect(lines[0]).toBe('none of the 5 chosen pictures could be decoded (1 other chosen file is not named as a picture):');
    // The browser's one message for every failure is replaced by what the reader's checks find.
    expect(lines[1]).toMatch(/^a\.png: neither PNG nor JPEG \(the file starts with 01 02 03\)/);
    expect(lines.slice(2).map((l) => l.split(':')[0])).toEqual(['b.jpg', 'c.jpeg', '…and 2 more.']);
    expect(message).not.toContain('see the warnings');
  });

  it('keeps the browser\'s own words for a picture the reader would decode', async () => {
    vi.stubGlobal('createImageBitmap', async () => { throw new Error('The source image could not be decoded.'); });
    const png = new File([Uint8Array.from(encode({ width: 2, height: 2, data: new Uint8Array(16).fill(200), channels: 4 }))], 'fine.png');
    const error = await imageFileSplits({ kind: 'images', files: [png], imageSize: 32, channels: 3, seed: 0 }).catch((e: Error) => e);
    expect((error as Error).message.split('\n')[1]).toMatch(/^fine\.png: the browser cannot decode it as a picture \(The source image could not be decoded\.\)/);
  });
});
