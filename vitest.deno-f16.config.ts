import { defineConfig } from 'vitest/config';
import { fileScheduling } from './tests/run-order.ts';

// Half precision under Deno on Mesa's lavapipe, a Vulkan driver with shaderFloat16 (SwiftShader
// has none, so Dawn offers no shader-f16 there). Run by scripts/test-deno.sh with
// WEBGPU_VAE_REQUIRE_F16=1, so a missing feature fails instead of passing on the refusal branch.
export default defineConfig({
  test: {
    include: ['tests/f16.test.ts', 'tests/f16-conv.test.ts'],
    ...fileScheduling(),
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
