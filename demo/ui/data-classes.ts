// The classes of the data the picker offers, in one place: how many a conditional model on the
// picked data will have (the samples grid's rows and the scatter legend, laid out before the
// model exists) and what each label is called (the legend, the class pickers, the row names).
import { DSPRITES_SHAPES } from '../../src/data/dsprites';
import { FASHION_MNIST_CLASSES } from '../../src/data/class-names';

/** Names of the labels of the data sets whose labels are not digits, by the data picker's choice. */
const CLASS_NAMES: Record<string, readonly string[]> = {
  'fashion-mnist': FASHION_MNIST_CLASSES,
  dsprites: DSPRITES_SHAPES,
  'dsprites-color': DSPRITES_SHAPES,
};

/** How the page names `label` of the data picked as `choice` (the data set select's value). */
export function labelName(label: number, choice: string): string {
  return CLASS_NAMES[choice]?.[label] ?? String(label);
}

/**
 * The classes the data picked as `choice` has, as the worker counts them (one per label value up
 * to the largest): `idxClasses` is that count for the user's IDX label files, read when they were
 * picked (null before). The user's own pictures carry no labels: one class.
 */
export function classCount(choice: string, idxClasses: number | null): number {
  if (choice === 'files') return idxClasses ?? 10;
  if (choice === 'images') return 1;
  return CLASS_NAMES[choice]?.length ?? 10; // MNIST's digits
}
