// Chromium flags for WebGPU in headless tests. Without a GPU (CI, or WEBGPU_VAE_SWIFTSHADER=1)
// WebGPU runs on SwiftShader, Chromium's CPU Vulkan driver; with a GPU only the WebGPU switch is
// needed (Linux keeps WebGPU behind --enable-unsafe-webgpu).
import { existsSync } from 'node:fs';

/** True when no GPU device node is present or software rendering is requested. */
export function useSwiftShader(): boolean {
  if (process.env.WEBGPU_VAE_SWIFTSHADER === '1') return true;
  if (process.env.WEBGPU_VAE_SWIFTSHADER === '0') return false;
  return !existsSync('/dev/nvidia0') && !existsSync('/dev/dri/renderD128');
}

export function chromiumArgs(): string[] {
  const quiet = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--no-default-browser-check'];
  const webgpu = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan'];
  const software = ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface'];
  return [...webgpu, ...(useSwiftShader() ? software : []), ...quiet];
}
