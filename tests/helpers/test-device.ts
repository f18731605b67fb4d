/// <reference types="@webgpu/types" />
// A tiny one-dispatch compute harness for tests of raw WGSL snippets (e.g. the
// Philox functions), on the shared test device of helpers/gpu.ts.
import { gpu, UNWRITTEN } from './gpu';
import { gentleWait } from '../../src/gpu/gentle-wait';

/** The shared test device (Node/Dawn or the browser's WebGPU; see helpers/gpu.ts). */
export async function testDevice(): Promise<GPUDevice> {
  return (await gpu()).device;
}

export interface ComputeInput {
  binding: number;
  data: ArrayBufferView;
  /** Declared as read-only-storage (shader must use var<storage, read>). */
  readonly?: boolean;
  /** Bound as a uniform buffer instead of storage. */
  uniform?: boolean;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

async function throwOnShaderErrors(module: GPUShaderModule, code: string): Promise<void> {
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length === 0) return;
  const lines = code.split('\n');
  const text = errors
    .map((m) => `line ${m.lineNum}: ${m.message}\n  > ${lines[m.lineNum - 1] ?? ''}`)
    .join('\n');
  throw new Error(`WGSL compilation failed:\n${text}`);
}

/**
 * Runs one compute dispatch on bind group 0 and returns a copy of the output
 * buffer. Inputs get their own buffers; the output binding is a fresh
 * read-write storage buffer filled with NaN words (UNWRITTEN, as in runKernels),
 * unless an input uses the same binding, in which case that input is updated in
 * place and read back.
 */
export async function runCompute(
  device: GPUDevice,
  code: string,
  inputs: ComputeInput[],
  outputBinding: number,
  outputBytes: number,
  workgroups: [number, number, number],
  entryPoint = 'main',
): Promise<ArrayBuffer> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  await throwOnShaderErrors(module, code);

  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const created: GPUBuffer[] = [];
  const entries: GPUBindGroupEntry[] = [];
  const layoutEntries: GPUBindGroupLayoutEntry[] = [];
  let output: GPUBuffer | undefined;

  for (const input of inputs) {
    const bytes = new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    // writeBuffer needs 4-byte multiples; uniforms need 16.
    const size = Math.max(16, roundUp(bytes.byteLength, 16));
    const buffer = device.createBuffer({
      size,
      usage: input.uniform ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST : usage,
    });
    const padded = new Uint8Array(size);
    padded.set(bytes);
    device.queue.writeBuffer(buffer, 0, padded);
    created.push(buffer);
    const isOutput = input.binding === outputBinding;
    if (isOutput) output = buffer;
    const type: GPUBufferBindingType = input.uniform
      ? 'uniform'
      : input.readonly && !isOutput
        ? 'read-only-storage'
        : 'storage';
    layoutEntries.push({ binding: input.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    entries.push({ binding: input.binding, resource: { buffer } });
  }
  if (!output) {
    const size = Math.max(16, roundUp(outputBytes, 4));
    output = device.createBuffer({ size, usage });
    device.queue.writeBuffer(output, 0, new Float32Array(size / 4).fill(UNWRITTEN));
    created.push(output);
    layoutEntries.push({ binding: outputBinding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } });
    entries.push({ binding: outputBinding, resource: { buffer: output } });
  }

  const bindGroupLayout = device.createBindGroupLayout({ entries: layoutEntries });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
    compute: { module, entryPoint },
  });
  const bindGroup = device.createBindGroup({ layout: bindGroupLayout, entries });

  const readSize = roundUp(outputBytes, 4);
  const readback = device.createBuffer({ size: readSize, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  created.push(readback);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...workgroups);
  pass.end();
  encoder.copyBufferToBuffer(output, 0, readback, 0, readSize);
  device.queue.submit([encoder.finish()]);

  const error = await device.popErrorScope();
  if (error) {
    for (const b of created) b.destroy();
    throw new Error(`WebGPU validation error: ${error.message}`);
  }
  await gentleWait(() => readback.mapAsync(GPUMapMode.READ));
  const result = readback.getMappedRange().slice(0, outputBytes);
  readback.unmap();
  for (const b of created) b.destroy();
  return result;
}
