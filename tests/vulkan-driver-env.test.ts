// A Vulkan driver named by the user (VK_DRIVER_FILES, or the older VK_ICD_FILENAMES) that does not
// exist, or that gives no adapter: the command says which variable and which file, and how to go
// on, instead of the Vulkan loader's native warnings and a message that asks for the variable
// the user already set.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const CHECKPOINT = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');

function evalWith(env: Record<string, string>) {
  const clean = { ...process.env };
  delete clean.VK_ICD_FILENAMES;
  delete clean.VK_DRIVER_FILES;
  delete clean.WEBGPU_VAE_FORCE_SWIFTSHADER;
  return spawnSync(process.execPath, [BIN, 'eval', '--checkpoint', CHECKPOINT, '--limit', '8'], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
}

describe('a Vulkan driver variable that names no usable driver', () => {
  it.each(['VK_ICD_FILENAMES', 'VK_DRIVER_FILES'])('%s naming a missing file: one line naming it, before any native warning', (variable) => {
    const r = evalWith({ [variable]: '/nonexistent/icd.json' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `webgpu-vae eval: error: ${variable} names /nonexistent/icd.json, which does not exist; point it at a Vulkan ICD file ` +
        "(SwiftShader's is /usr/lib/chromium/vk_swiftshader_icd.json), or unset it to let webgpu-vae find a driver",
    );
    expect(r.stdout).toBe('');
  });

  it('a file that is no driver: the error names the variable and the file, and does not ask to set it', () => {
    const r = evalWith({ VK_ICD_FILENAMES: CHECKPOINT });
    expect(r.status).toBe(1);
    const error = r.stderr.split('\n').find((l) => l.includes('error:')) ?? '';
    expect(error).toContain(`no WebGPU adapter found with the Vulkan driver VK_ICD_FILENAMES names (${CHECKPOINT}); unset VK_ICD_FILENAMES`);
    expect(error).not.toMatch(/set VK_ICD_FILENAMES to a Vulkan ICD file/);
  });
});
