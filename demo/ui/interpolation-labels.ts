// The line under the interpolation strip: what its two end pictures are. Labels by the data set's
// class names where it has them (Fashion-MNIST's clothes, dSprites' shapes), "label 3" for digits,
// and the test pictures' numbers for the user's own pictures, whose labels are all 0 and mean nothing.
import { labelName } from './scatter';

export function interpolationLabels(choice: string, ends: { a: number; b: number; labels: [number, number]; decodedAs: number | null }): string {
  if (choice === 'images') return `test pictures ${ends.a} → ${ends.b}`;
  const name = (label: number) => {
    const named = labelName(label, choice);
    return named === String(label) ? `label ${label}` : named;
  };
  const decoded = ends.decodedAs === null ? '' : `, decoded as ${labelName(ends.decodedAs, choice) === String(ends.decodedAs) ? `class ${ends.decodedAs}` : labelName(ends.decodedAs, choice)}`;
  return `${name(ends.labels[0])} → ${name(ends.labels[1])}${decoded}`;
}
