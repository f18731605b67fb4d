// The layer registry: every layer type by the name architectures use. Adding a layer type means
// its kernel file (shaders/), its module here (layers/), its float64 reference and test, and one
// line below.
import type { Module } from '../module';
import { ConcatLabel, type ConcatLabelSpec } from './concat-label';
import { Conv2d, type Conv2dSpec } from './conv2d';
import { ConvTranspose2d, type ConvTranspose2dSpec } from './conv-transpose2d';
import { Dense, type DenseSpec } from './dense';
import { GroupNorm, type GroupNormSpec } from './group-norm';
import { Flatten, Reshape, type FlattenSpec, type ReshapeSpec } from './reshape';
import { Upsample, type UpsampleSpec } from './upsample';

export interface LayerSpecs {
  dense: DenseSpec;
  'concat-label': ConcatLabelSpec;
  conv2d: Conv2dSpec;
  'conv-transpose2d': ConvTranspose2dSpec;
  'group-norm': GroupNormSpec;
  reshape: ReshapeSpec;
  flatten: FlattenSpec;
  upsample: UpsampleSpec;
}

export type LayerType = keyof LayerSpecs;

type LayerFactory<T extends LayerType> = (name: string, input: readonly number[], spec: LayerSpecs[T]) => Module;

const features = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const LAYERS: { [T in LayerType]: LayerFactory<T> } = {
  dense: (name, input, spec) => new Dense(name, features(input), spec),
  'concat-label': (name, input, spec) => new ConcatLabel(name, features(input), spec),
  conv2d: (name, input, spec) => new Conv2d(name, input, spec),
  'conv-transpose2d': (name, input, spec) => new ConvTranspose2d(name, input, spec),
  'group-norm': (name, input, spec) => new GroupNorm(name, input, spec),
  reshape: (name, input, spec) => new Reshape(name, input, spec),
  flatten: (name, input) => new Flatten(name, input),
  upsample: (name, input, spec) => new Upsample(name, input, spec),
};

/** One layer of an architecture: its type, checkpoint name and type-specific settings. */
export type LayerDecl = { [T in LayerType]: { type: T; name: string } & LayerSpecs[T] }[LayerType];

/** Instantiates a sequence of layers from `input` (shape of one example); returns them and the output shape. */
export function buildLayers(decls: readonly LayerDecl[], input: readonly number[]): { modules: Module[]; output: number[] } {
  const modules: Module[] = [];
  let shape = [...input];
  for (const d of decls) {
    const make = LAYERS[d.type] as LayerFactory<typeof d.type>;
    const m = make(d.name, shape, d);
    shape = m.outputShape(shape);
    modules.push(m);
  }
  return { modules, output: shape };
}
