// How the worker caps the test set and splits the user's IDX files (worker/data.ts), shared with
// the page, which counts the classes of picked label files the same way before Start (ui/files.ts).

/**
 * Test examples used for the per-epoch test -ELBO and the latent scatter: enough for a stable
 * estimate and a readable plot, few enough not to stall training on a software GPU.
 */
export const TEST_LIMIT = 1000;

/** Examples held out of a training file given without test files: its last tenth, 1 to TEST_LIMIT. */
export const heldOutCount = (count: number): number => Math.min(TEST_LIMIT, Math.max(1, Math.floor(count / 10)));
