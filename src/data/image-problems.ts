// The refusals the PNG and JPEG readers share, in plain words. A decoder's own message (fast-png's
// "Offset is outside the bounds of the DataView", jpeg-js's "marker was not found") says where its
// code stopped, not what is wrong with the file, so the readers check the common problems
// themselves (a picture too large, a file cut short) and say those in these words; what is left
// gets the decoder's message, with its cause when it has one.
import { DataError } from './idx';
import { MAX_IMAGE_PIXELS } from './image-set';

/** Refuses a picture of no pixels or of more than MAX_IMAGE_PIXELS, from its header's size. */
export function checkPixelCount(width: number, height: number, name: string): void {
  if (width < 1 || height < 1) throw new DataError(`${name}: the header declares an empty picture (${width}x${height}).`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(
      `${name}: the header declares ${width}x${height} pixels, more than the ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels ` +
        'this reader decodes. Shrink the picture first, or remove it from the folder.',
    );
  }
}

/** A file that stops before the picture's data is complete: most often a copy or download cut short. */
export function endsEarly(name: string, format: 'PNG' | 'JPEG', bytes: Uint8Array): DataError {
  return new DataError(
    `${name}: the ${format} file ends before its picture data does (truncated? it has ${bytes.length} bytes). ` +
      'Copy or download it again, or move it out of the folder.',
  );
}

/** A file whose picture data is there but does not decode: damaged rather than cut short. */
export function damaged(name: string, what: string): DataError {
  return new DataError(`${name}: ${what}, so the file is damaged. Copy or download it again, or move it out of the folder.`);
}

/** The decoder's own words, for a failure none of the checks above recognised; a message that
 *  ends in a colon ("Error while decompressing the data:") gets its cause appended. */
export function unreadable(name: string, format: 'PNG' | 'JPEG', e: unknown): DataError {
  if (e instanceof DataError) return e;
  return new DataError(`${name}: not a readable ${format} file (${errorText(e)}).`);
}

/** An error's message, with its cause's when the message alone says nothing ("...data:"). */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const message = e.message.replace(/[:\s]+$/, '');
  const cause = e.cause instanceof Error ? e.cause.message : e.cause === undefined ? '' : String(e.cause);
  return cause ? `${message}: ${cause}` : message;
}
