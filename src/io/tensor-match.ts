// Matching a file's tensors to a model's parameter layout: every missing, unused, misshapen and
// non-finite tensor is gathered first, and one message names all of them, so that a file with
// several faults is mended in one go: a wrong file (missing and unused tensors, as PyTorch's strict
// load_state_dict lists missing and unexpected keys) and one of another configuration (wrong
// shapes) read differently from a right file whose values went bad (NaN or infinite).
import { someNames } from '../errors';
import { nonFinite, type ParamLayout } from '../model/params';
import { CheckpointError, type Safetensors } from './safetensors';

/** Names shown in one message; the rest are counted. */
const SHOWN = 6;
const listed = (names: string[]) => someNames(names, SHOWN);
/** A file's own tensor name as a message shows it: an empty key would otherwise print as nothing. */
export const shownName = (name: string) => (name === '' ? '"" (an empty name)' : name);

/**
 * The flat parameter arrays of `layout` under each of `prefixes` ('' for the parameters,
 * 'adam.m.' for a moment, ...), checked against `tensors`. `what` names what the file should
 * hold ("this model", "this model and optimizer"); `naming` says where the expected names are.
 */
export function matchTensors(source: string, tensors: Safetensors['tensors'], layout: ParamLayout, prefixes: string[], what: string, naming: string, shapesFrom?: string): Float32Array[] {
  const missing: string[] = [], misshapen: string[] = [], notFinite: string[] = [];
  const used = new Set<string>();
  // Names, shapes and values are checked before any flat array is allocated: a configuration that
  // describes a far larger model than the file holds (hidden [1e9]) is refused by its shapes, not
  // by a RangeError (or gigabytes of memory) from an array of the layout's size.
  for (const prefix of prefixes) {
    for (const t of layout.tensors) {
      const name = prefix + t.name;
      const got = tensors[name];
      if (!got) { missing.push(name); continue; }
      used.add(name);
      if (got.shape.join(',') !== t.shape.join(',')) { misshapen.push(`${name} has shape [${got.shape}] where [${t.shape}] is needed`); continue; }
      const bad = nonFinite(got.data);
      if (bad) notFinite.push(`${name} (${bad.count} of ${got.data.length}, the first ${bad.value} at index ${bad.index})`);
    }
  }
  const unused = Object.keys(tensors).filter((n) => !used.has(n)).map(shownName);
  const shapes = misshapen.length ? `${misshapen.length === 1 ? 'tensor' : `${misshapen.length} tensors have the wrong shape:`} ${listed(misshapen)}${shapesFrom ? ` (${shapesFrom})` : ''}` : '';
  const values = notFinite.length ? `${notFinite.length === 1 ? 'tensor' : `${notFinite.length} tensors:`} ${listed(notFinite)} ${notFinite.length === 1 ? 'holds values' : 'hold values'} that are not finite numbers (NaN or infinite)` : '';
  if (missing.length || unused.length) {
    const parts = [
      ...(missing.length ? [`it lacks ${missing.length === 1 ? 'tensor' : `${missing.length} tensors`} ${listed(missing)}`] : []),
      ...(unused.length ? [`it has ${unused.length === 1 ? 'a tensor' : `${unused.length} tensors`} ${what} does not use: ${listed(unused)}`] : []),
    ];
    // Only extra tensors: every one the configuration needs is there, and the fix is to drop the rest.
    const headline = missing.length || misshapen.length ? 'does not hold the tensors its configuration needs' : 'holds more tensors than its configuration needs';
    const fix = missing.length || misshapen.length ? '' : '; save only the model\'s parameters (drop the others from the state_dict before saving)';
    const also = [shapes, values].filter(Boolean);
    throw new CheckpointError(`${source} ${headline}: ${parts.join('; ')} (${naming})${fix}${also.map((part) => `; also ${part}`).join('')}`);
  }
  if (misshapen.length) throw new CheckpointError(`${source}: ${shapes}${values ? `; also ${values}` : ''}`);
  if (notFinite.length) throw new CheckpointError(`${source}: ${values}; a model cannot start from them: use a checkpoint written before the values went bad`);
  // Every tensor is there with its shape, so the layout is no larger than the file's data (and its padding).
  return prefixes.map((prefix) => {
    const out = new Float32Array(layout.totalFloats);
    for (const t of layout.tensors) out.set(tensors[prefix + t.name].data, t.offset);
    return out;
  });
}
