// The line under the interpolation strip: what its two end pictures are. Labels by the data set's
// class names where it has them (Fashion-MNIST's clothes, dSprites' shapes), "label 3" for digits,
// and the test pictures' numbers for the user's own pictures, whose labels are all 0 and mean nothing.
import { labelName } from './data-classes';

export function interpolationLabels(choice: string, ends: { a: number; b: number; labels: [number, number]; decodedAs: number | null }): string {
  if (choice === 'images') return `test pictures ${ends.a} → ${ends.b}`;
  // A data set without class names (digits) says what the number is: a label, or a class decoded.
  const name = (label: number, unnamed: string) => {
    const named = labelName(label, choice);
    return named === String(label) ? `${unnamed} ${label}` : named;
  };
  const decoded = ends.decodedAs === null ? '' : `, decoded as ${name(ends.decodedAs, 'class')}`;
  return `${name(ends.labels[0], 'label')} → ${name(ends.labels[1], 'label')}${decoded}`;
}
