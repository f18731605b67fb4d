// What acquireBrowserDevice() says when there is no WebGPU: a browser's advice in a browser or
// worker (tests/e2e/no-webgpu.test.ts sees it on the page), Deno's in Deno, where chrome://gpu and
// Chrome's flags would send its user the wrong way.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireBrowserDevice } from '../src/gpu/device';

afterEach(() => vi.unstubAllGlobals());

const refusal = () => acquireBrowserDevice().then(() => null, (e: Error) => e);

describe('acquireBrowserDevice without WebGPU', () => {
  it('in Deno: names Deno versions, Vulkan drivers and SwiftShader, not Chrome', async () => {
    vi.stubGlobal('Deno', { version: { deno: '2.0.0' } });
    vi.stubGlobal('navigator', {});
    const missing = await refusal();
    expect(missing).toMatchObject({ name: 'NoWebGPUError', message: expect.stringMatching(/^WebGPU is not available in this Deno \(navigator\.gpu is missing\)\. Use Deno 2 or later/) });
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    const noAdapter = await refusal();
    expect(noAdapter?.message).toMatch(/no adapter was granted: Deno found no usable Vulkan, Metal or DX12 driver.*VK_ICD_FILENAMES=.*vk_swiftshader_icd\.json.*DENO_WEBGPU_BACKEND/);
    expect(noAdapter?.message).not.toMatch(/chrome/i);
  });

  it('elsewhere: the browser advice', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    expect((await refusal())?.message).toMatch(/no adapter was granted \(GPU blocked or unsupported\)\. Check chrome:\/\/gpu/);
    vi.stubGlobal('navigator', {});
    expect((await refusal())?.message).toMatch(/Use a recent Chrome, Edge or Firefox/);
  });
});
