// Which test files run on which WebGPU implementation, in one place.
//
// Every test runs in Node on Dawn (vitest.config.ts). The kernel tests below run again in headless
// Chromium (vitest.browser.config.ts: Chromium's Dawn and Tint) and under Deno (vitest.deno.config.ts:
// wgpu and the naga compiler), so that no kernel leans on one compiler's leniency. The tests with
// half-precision cases also run on Mesa's lavapipe, the one adapter here with `shader-f16`
// (vitest.deno-f16.config.ts). tests/suites.test.ts fails when a test that builds kernels is on
// neither list, or a test with f16 cases is missing from HALF_PRECISION_TESTS: a new kernel's test
// is added to KERNEL_TESTS, and nowhere else.

/** Kernel and gradient tests, run on Dawn in Node, in Chromium and under Deno. */
export const KERNEL_TESTS: readonly string[] = [
  'tests/matmul.test.ts', 'tests/matmul-register-vec4.test.ts', 'tests/matmul-zeros.test.ts', 'tests/activation.test.ts', 'tests/reparam.test.ts', 'tests/reparam-backward.test.ts', 'tests/elbo.test.ts', 'tests/kl-capacity.test.ts', 'tests/likelihood.test.ts', 'tests/iwae.test.ts',
  'tests/concat.test.ts', 'tests/uniform.test.ts', 'tests/tensor-plan.test.ts', 'tests/tensor-plan-graph.test.ts',
  'tests/conv.test.ts', 'tests/conv-im2col.test.ts', 'tests/conv-any-batch.test.ts', 'tests/conv-layers.test.ts', 'tests/group-norm.test.ts', 'tests/dsprites-kernel.test.ts', 'tests/generated-sprites.test.ts', 'tests/likelihood-predicted.test.ts', 'tests/dequantize.test.ts',
  'tests/adam.test.ts', 'tests/grad-norm.test.ts', 'tests/batch.test.ts', 'tests/gradcheck.test.ts', 'tests/rng.test.ts', 'tests/tc.test.ts', 'tests/kernels-api.test.ts', 'tests/upsample.test.ts', 'tests/hot-kernels.test.ts',
];

/**
 * Tests that import kernels but stay in the Node run, with the reason. Each of them checks
 * something other than a kernel's numbers on a second compiler.
 */
export const NODE_ONLY_KERNEL_TESTS: Readonly<Record<string, string>> = {
  'tests/autotune.test.ts': 'times kernels and caches choices in a file',
  'tests/autotune-refusals.test.ts': 'autotuning under refused compiles, a slow compiler and broken caches; spawns Node writers',
  'tests/bad-numbers.test.ts': 'whole training steps at extreme settings, through the Node CLI paths',
  'tests/bounds-checks.test.ts': 'devices without bounds checks, made from second Dawn instances with a Dawn toggle',
  'tests/cli-help-choices.test.ts': 'compares the CLI help text with the kernels\' lists',
  'tests/compile.test.ts': 'compile progress and pipeline sharing of one device',
  'tests/series.test.ts': 'evaluates the series\' WGSL text in float64 in JavaScript, with no GPU',
  'tests/device-limits-features.test.ts': 'refusals on Dawn devices of lowered limits or features (compatibility mode, no subgroups), made from second Dawn instances',
  'tests/docs-snippets.test.ts': 'type-checks the documentation\'s TypeScript examples',
  'tests/factor-recovery.test.ts': 'dSprites factor statistics on the CPU',
  'tests/gentle-wait.test.ts': 'the Node event loop during GPU waits',
  'tests/kernels-api-checks.test.ts': 'refusals of bad arguments, before anything reaches the GPU',
  'tests/no-webgpu-globals.test.ts': 'deletes the Node globals of the webgpu package for its run',
  'tests/kernels-api-misuse.test.ts': 'refusals of misused kernels and buffers, named in the error',
  'tests/kernels-api-exact.test.ts': 'refusals of bindings longer than a sizedByBinding kernel counts, named in the error',
  'tests/kernels-api-graph.test.ts': 'an app\'s KernelGraph beside a model on one device: refusals and whose errors are whose',
  'tests/matmul-tile-stores.test.ts': 'scans generated WGSL text, no device',
  'tests/nan-fill.test.ts': 'negative controls for the test helpers',
  'tests/on-nan.test.ts': 'the CLI\'s handling of bad numbers',
};

/** Tests with cases that need `shader-f16`: run on lavapipe with the feature required. */
export const HALF_PRECISION_TESTS: readonly string[] = ['tests/f16.test.ts', 'tests/f16-conv.test.ts', 'tests/upsample.test.ts', 'tests/concat.test.ts'];

/** Tests that need a browser page (the package in a page, files, workers, device loss). */
export const BROWSER_ONLY_TESTS: readonly string[] = [
  'tests/package.browser.test.ts', 'tests/image-files.browser.test.ts', 'tests/run-log.browser.test.ts', 'tests/charts.browser.test.ts', 'tests/device-lost.browser.test.ts', 'tests/shared-device.browser.test.ts',
];
