// How the page names the files it saves (models and view pictures): by the step the run is at
// and, for a model that came from a file, by that file. Names describe the model's lineage, so a
// save of a loaded save does not grow a longer name each round.

/** A file's name less its extension (`demo-model.safetensors` -> `demo-model`). */
export const fileStem = (name: string): string => name.replace(/\.[^.]*$/, '');

/** A model this page saved after a Load: `vae-<data>-step-<steps>-after-<origin>`. */
const SAVED_AFTER_LOAD = /^vae-.+?-step-(\d+)-after-(.+)$/;

/**
 * The stem for saved files of a run at `step`: `step-N`, and after a Load of the file `loadedFrom`
 * (its stem), `step-N-after-<file>`, as a loaded model counts its steps anew (its step 0 is not an
 * untrained one). When that file is itself such a save (`vae-mnist-step-100-after-x`), the steps
 * add up and the origin stays `x`: `step-130-after-x` is x trained 100 + 30 steps.
 */
export function runStem(loadedFrom: string | null, step: number): string {
  if (!loadedFrom) return `step-${step}`;
  const lineage = SAVED_AFTER_LOAD.exec(loadedFrom);
  return lineage ? `step-${Number(lineage[1]) + step}-after-${lineage[2]}` : `step-${step}-after-${loadedFrom}`;
}
