// The model's shape in one line, as the CLI and the demo print it: "784-400-20" for the mlp, and
// "conv 3x64x64 -> 16-32-64-64 (GroupNorm 8) -> 256 -> 10" for the conv architecture. Imports only
// types, so the demo's page can use it without loading the library.
import type { VaeConfig } from './config';

/** Separators: ASCII for terminals, or the page's typographic ones. */
export interface ShapeSymbols {
  times: string;
  arrow: string;
}

export const ASCII_SYMBOLS: ShapeSymbols = { times: 'x', arrow: '->' };

type ShapeFields = Pick<VaeConfig, 'arch' | 'inputDim' | 'hidden' | 'latent' | 'imageChannels' | 'imageShape' | 'channels' | 'dense' | 'norm' | 'normGroups'>;

export function describeShape(c: ShapeFields, { times, arrow }: ShapeSymbols = ASCII_SYMBOLS): string {
  if (c.arch !== 'conv') return [c.inputDim, ...c.hidden, c.latent].join('-');
  const norm = c.norm === 'group' ? ` (GroupNorm ${c.normGroups})` : '';
  return `conv ${[c.imageChannels, ...c.imageShape].join(times)} ${arrow} ${c.channels.join('-')}${norm} ${arrow} ${[...c.dense, c.latent].join(` ${arrow} `)}`;
}
