// The picture list a folder run writes beside itself (src/data/picture-list.ts): a digest per
// picture of its decoded pixels, written and read back, and the words naming what changed.
import { describe, expect, it } from 'vitest';
import { describePictureChanges, formatPictureList, parsePictureList, pictureDigests } from '../src/data/picture-list';

const pixels = Uint8Array.from({ length: 4 * 6 }, (_, i) => (i * 37) & 255);

describe('the picture list', () => {
  it('gives each picture a digest of its own pixels, and reads back what it writes', () => {
    const digests = pictureDigests(['b.png', 'a.png', 'sub/c.jpg', 'tab\tname.png'], pixels, 6);
    expect(digests.size).toBe(4);
    expect(new Set(digests.values()).size).toBe(4);
    for (const d of digests.values()) expect(d).toMatch(/^[0-9a-f]{16}$/);
    // The same pixels under another name give the same digest.
    const copy = pictureDigests(['x.png'], pixels.slice(6, 12), 6);
    expect(copy.get('x.png')).toBe(digests.get('a.png'));
    const text = formatPictureList(digests);
    expect(text.indexOf('"a.png"')).toBeLessThan(text.indexOf('"b.png"'));
    expect(parsePictureList(text)).toEqual(digests);
    expect(parsePictureList('[1, 2]')).toBeNull();
    expect(parsePictureList('{"a.png": 3}')).toBeNull();
    expect(parsePictureList('not json')).toBeNull();
  });

  it('names the pictures changed, added and removed, a few of each, and nothing when they agree', () => {
    const before = new Map([['a.png', '1'], ['b.png', '2'], ['c.png', '3']]);
    expect(describePictureChanges(before, new Map(before))).toBeNull();
    const now = new Map([['a.png', '1'], ['b.png', '9'], ['d.png', '3'], ['e.png', '4']]);
    expect(describePictureChanges(before, now)).toBe('changed: b.png; added: d.png, e.png; removed: c.png');
    const many = new Map([...before, ...Array.from({ length: 7 }, (_, i) => [`n${i}.png`, String(i)] as [string, string])]);
    expect(describePictureChanges(before, many, 4)).toBe('added: n0.png, n1.png, n2.png, n3.png and 3 more');
  });
});
