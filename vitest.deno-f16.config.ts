import { defineConfig } from 'vitest/config';
import { HALF_PRECISION_TESTS } from './tests/suites.ts';
import { fileScheduling } from './tests/run-order.ts';

// Half precision under Deno on Mesa's lavapipe, a Vulkan driver with shaderFloat16 (SwiftShader
// has none, so Dawn offers no shader-f16 there). Run by scripts/test-deno.sh with
// WEBGPU_VAE_REQUIRE_F16=1, so a missing feature fails instead of passing on the refusal branch.
export default defineConfig({
  test: {
    include: [...HALF_PRECISION_TESTS],
    ...fileScheduling(),
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
