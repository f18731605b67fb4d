// The data set picker: MNIST from the page's server, Fashion-MNIST where the server has it (the
// build copies Debian's dataset-fashion-mnist files when they are installed; the page asks for
// one at start and offers the set only if it is there), dSprites or colour dSprites drawn in the
// worker, the user's own pictures (files, a chosen folder, or a folder dropped on the zone), or
// their own IDX files (ui/files.ts). It turns the choice into the DataSource the worker loads,
// and says what is still missing before a run can start. A drop on either zone does what the
// zone's file input does, so, like the input, it is refused while the settings are locked.
import { DSPRITES_SIDE } from '../../src/data/dsprites';
import { classCount } from './data-classes';
import type { DataSource } from '../shared/protocol';
import type { DatasetFiles } from './files';

export type DataChoice = 'mnist' | 'fashion-mnist' | 'dsprites' | 'dsprites-color' | 'images' | 'files';
const CHOICES: readonly DataChoice[] = ['mnist', 'fashion-mnist', 'dsprites', 'dsprites-color', 'images', 'files'];

/** Sides the picture loader accepts, and that leave a conv model at least one halving. */
const IMAGE_SIZE = { min: 8, max: 256 };

export interface DataPickerElements {
  select: HTMLSelectElement;
  /** The "your own images" zone: drop target and holder of the controls below. */
  imageZone: HTMLElement;
  imageFiles: HTMLInputElement;
  imageFolder: HTMLInputElement;
  imageCount: HTMLElement;
  imageSize: HTMLInputElement;
  imageChannels: HTMLSelectElement;
  /** The IDX files' zone, its file input and the button that empties its list. */
  idxZone: HTMLElement;
  idxFiles: HTMLInputElement;
  idxClear: HTMLButtonElement;
}

/** Every file under a dropped entry (folders recursively), since a dropped folder arrives as one entry. */
export async function filesUnder(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject))];
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  // readEntries hands over a directory in batches; an empty batch ends it.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    children.push(...batch);
  }
  return (await Promise.all(children.map(filesUnder))).flat();
}

/**
 * The files of a drop: through file-system entries where the browser gives them (a dropped folder
 * is one entry, walked recursively), else the plain file list (browsers or drops without entries).
 */
export async function droppedFiles(transfer: DataTransfer | null): Promise<File[]> {
  if (!transfer) return [];
  const entries = Array.from(transfer.items ?? []).map((item) => item.webkitGetAsEntry?.() ?? null).filter((x): x is FileSystemEntry => x !== null);
  if (entries.length === 0) return Array.from(transfer.files ?? []);
  return (await Promise.all(entries.map(filesUnder))).flat();
}

/**
 * Makes `zone` a drop target that hands a drop to `take`, except while `input` (the zone's file
 * input, a field of the settings form) is disabled: the settings are locked while a model exists,
 * and new files would no longer describe the data it trains on.
 */
function acceptDrops(zone: HTMLElement, input: HTMLInputElement, take: (transfer: DataTransfer | null) => void): void {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (!input.disabled) zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault(); // also while locked, or the browser would open the dropped file
    zone.classList.remove('over');
    if (!input.disabled) take((e as DragEvent).dataTransfer);
  });
}

export class DataPicker {
  private pictures: File[] = [];

  constructor(private readonly el: DataPickerElements, private readonly idx: DatasetFiles, private readonly baseUrl: string, private readonly onChange: () => void) {
    el.select.addEventListener('change', () => onChange());
    el.imageFiles.addEventListener('change', () => this.setPictures(Array.from(el.imageFiles.files ?? [])));
    el.imageFolder.addEventListener('change', () => this.setPictures(Array.from(el.imageFolder.files ?? [])));
    acceptDrops(el.imageZone, el.imageFiles, (transfer) => void droppedFiles(transfer).then((files) => this.setPictures(files)));
    el.idxFiles.addEventListener('change', () => void idx.add(el.idxFiles.files ?? []));
    acceptDrops(el.idxZone, el.idxFiles, (transfer) => void idx.add(transfer?.files ?? []));
    el.idxClear.addEventListener('click', () => idx.clear());
  }

  /** Adds Fashion-MNIST to the list when the page's server provides its files. */
  async offerFashionMnist(): Promise<void> {
    try {
      const probe = await fetch(new URL('fashion-mnist/t10k-labels-idx1-ubyte.gz', this.baseUrl), { method: 'HEAD' });
      if (!probe.ok) return;
    } catch {
      return; // no server answer: leave the choice out
    }
    const option = new Option('Fashion-MNIST', 'fashion-mnist');
    this.el.select.options[0].after(option);
  }

  get choice(): DataChoice {
    const v = this.el.select.value as DataChoice;
    return CHOICES.includes(v) ? v : 'mnist';
  }

  private setPictures(files: File[]): void {
    this.pictures = files;
    const n = files.length;
    this.el.imageCount.textContent = n ? `${n.toLocaleString('en')} file${n === 1 ? '' : 's'} chosen (PNG and JPEG are used, others ignored)` : '';
    this.onChange();
  }

  /** Shows the zone of the current choice; call from the page's control update. */
  update(): void {
    this.el.imageZone.hidden = this.choice !== 'images';
    this.el.idxZone.hidden = this.choice !== 'files';
    this.el.idxClear.hidden = this.idx.empty;
  }

  /**
   * The picture side the chosen data will have, so the page can size its views before the worker
   * says (a view that changes size seconds after Start moves everything below it).
   */
  expectedSide(): number {
    if (this.choice === 'dsprites' || this.choice === 'dsprites-color') return DSPRITES_SIDE;
    const size = Number(this.el.imageSize.value);
    if (this.choice === 'images' && Number.isInteger(size) && size >= IMAGE_SIZE.min && size <= IMAGE_SIZE.max) return size;
    return 28;
  }

  /**
   * The classes the chosen data has, training on its first `subset` examples (the Training
   * examples field): a conditional model's rows, the scatter legend's labels.
   */
  expectedClasses(subset: number): number {
    return classCount(this.choice, this.idx.classes(subset));
  }

  /** Why Start cannot run yet with this choice, or null. */
  missing(): string | null {
    if (this.choice === 'files') return this.idx.missing();
    if (this.choice === 'images' && this.pictures.length === 0) return 'choose or drop some PNG or JPEG pictures';
    return null;
  }

  /** The worker's description of the chosen data; throws a ConfigError-named error on a bad Image size, as readSettings does. */
  source(seed: number): DataSource {
    switch (this.choice) {
      case 'mnist': return { kind: 'mnist', baseUrl: new URL('mnist/', this.baseUrl).href };
      case 'fashion-mnist': return { kind: 'served', name: 'Fashion-MNIST', baseUrl: new URL('fashion-mnist/', this.baseUrl).href };
      case 'files': return this.idx.source();
      case 'dsprites':
      case 'dsprites-color': return { kind: 'dsprites', colour: this.choice === 'dsprites-color', seed };
      case 'images': {
        const raw = this.el.imageSize.value.trim(), imageSize = Number(raw);
        if (!Number.isInteger(imageSize) || imageSize < IMAGE_SIZE.min || imageSize > IMAGE_SIZE.max) {
          // A field of the form, refused as the settings' other fields are (and titled as they are).
          throw Object.assign(new Error(`Image size must be a whole number of pixels from ${IMAGE_SIZE.min} to ${IMAGE_SIZE.max} (pictures are centre-cropped to a square of that side); got "${raw}"`), { name: 'ConfigError' });
        }
        const channels = this.el.imageChannels.value === '1' ? 1 : 3;
        return { kind: 'images', files: this.pictures, imageSize, channels, seed };
      }
    }
  }
}
