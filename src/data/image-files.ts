// The user's own pictures in the browser: File objects from a file input or a dropped folder,
// decoded by the browser (createImageBitmap, then an OffscreenCanvas to read the pixels), then
// cropped, resized, converted and split by the same code as a folder in Node (image-pixels.ts,
// image-set.ts). A PNG gives the same bytes here as in Node. A JPEG does not quite: the inverse
// DCT rounds differently (grey within a few levels), and jpeg-js repeats half-resolution chroma
// where browsers interpolate it, so colours along sharp colour edges differ by several levels.
//
// Pixels are read as stored, with no colour-space conversion and no premultiplied alpha, and a
// JPEG's EXIF orientation applied ('from-image'; Chromium applies it even when asked for 'none',
// which the current spec treats alike), as the Node path does, so a picture is the same on both
// sides.
// Transparency: a canvas stores colours premultiplied by alpha, so a fully transparent pixel reads
// back black and a partly transparent one's colour rounded. prepareImage composites alpha onto
// black (image-pixels.ts) on both sides, which gives back the premultiplied colour the canvas
// holds (up to the canvas's own rounding), so a transparent picture trains the same here as in
// Node, where the PNG decoder gives the stored colours and alpha exactly.
import { prepareImage } from './image-pixels';
import { hasPictureExtension, IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS, resolveImageSetOptions, splitImageSet, type ImageSet, type ImageSetOptions } from './image-set';
import { DataError } from './idx';

/** The name a dropped file sorts and reports by: its path inside the dropped folder when known. */
export function pictureFileName(file: File): string {
  return (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
}

/**
 * Whether a file is a picture by its name (pictureFileName), as a folder in Node takes it: a
 * picture extension, and no hidden (dot) name on its path, so the files of a hidden subfolder
 * (.thumbnails/) are left out too. A relative path starts with the chosen folder itself, whose own
 * name does not count, as a hidden folder given to Node is read.
 */
export function isPictureName(name: string): boolean {
  const parts = name.split('/');
  const base = parts[parts.length - 1];
  const inside = parts.length > 1 ? parts.slice(1) : parts;
  return !inside.some((part) => part.startsWith('.')) && hasPictureExtension(base);
}

/** Decodes one file to RGBA pixels with the browser's own decoders. */
async function decodeInBrowser(file: File, name: string): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    throw await whyUndecodable(file, name, e as Error);
  }
  try {
    const { width, height } = bitmap;
    if (width * height > MAX_IMAGE_PIXELS) {
      throw new DataError(`${name}: ${width}x${height} pixels is more than the ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels this reader takes. Shrink the picture first.`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new DataError(`${name}: no 2D canvas to read the picture's pixels in this browser.`);
    ctx.drawImage(bitmap, 0, 0);
    return { width, height, data: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bitmap.close();
  }
}

/**
 * Why the browser could not decode `file`, in the Node reader's words when its checks find the
 * cause (an empty file, neither PNG nor JPEG, cut short, damaged): the browser's own message is
 * the same for all of them ("The source image could not be decoded"). The reader is loaded only
 * here, so pictures that decode cost the page nothing.
 */
async function whyUndecodable(file: File, name: string, e: Error): Promise<DataError> {
  try {
    const { decodeImage } = await import('./image-decode');
    decodeImage(new Uint8Array(await file.arrayBuffer()), name);
  } catch (found) {
    if (found instanceof DataError) return found;
  }
  return new DataError(`${name}: the browser cannot decode it as a picture (${e.message}). Convert it to PNG or JPEG, or leave it out.`);
}

/**
 * Loads dropped or chosen picture files as seeded train and test splits. Files whose names do not
 * end in one of IMAGE_EXTENSIONS (.png, .jpg, .jpeg, .jfif, ...) (or start with a dot, or lie in a hidden folder) are ignored; a
 * picture that cannot be decoded is skipped with a warning, or refused with `strict`.
 */
export async function loadImageFiles(files: ArrayLike<File>, options: ImageSetOptions): Promise<ImageSet> {
  const opts = resolveImageSetOptions(options);
  const pictures = Array.from(files)
    .map((file) => ({ file, name: pictureFileName(file) }))
    .filter((p) => isPictureName(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (pictures.length === 0) {
    throw new DataError(
      `none of the ${files.length} chosen files is a picture: looked for ${IMAGE_EXTENSIONS.join(', ')} names (any letter case). Choose PNG or JPEG files.`,
    );
  }
  const size = opts.channels * opts.imageSize * opts.imageSize;
  const examples: Uint8Array[] = [];
  const names: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const { file, name } of pictures) {
    try {
      const rgba = await decodeInBrowser(file, name);
      examples.push(prepareImage({ ...rgba, components: 4 }, opts.imageSize, opts.channels));
      names.push(name);
    } catch (e) {
      const reason = e instanceof DataError ? e.message : `${name}: ${(e as Error).message}`;
      if (opts.strict) throw new DataError(`${reason} Strict loading refuses the set; remove or fix the file, or load without strict to skip it.`);
      skipped.push({ file: name, reason });
      opts.warn(`skipping ${reason}`);
    }
  }
  if (examples.length === 0) {
    // The files left out by name are counted too, so the count matches what the user chose.
    const others = files.length - pictures.length;
    const left = others > 0 ? ` (${others} other chosen file${others === 1 ? ' is' : 's are'} not named as a picture)` : '';
    throw new DataError(`none of the ${pictures.length} chosen pictures could be decoded${left} (see the warnings).`);
  }
  const stack = new Uint8Array(examples.length * size);
  examples.forEach((x, i) => stack.set(x, i * size));
  const { train, test, testIndices } = splitImageSet(stack, examples.length, 'files', opts);
  return { train, test, files: names, skipped, testFiles: Array.from(testIndices, (i) => names[i]) };
}
