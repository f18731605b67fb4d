// `webgpu-vae/kernels`: every kernel on its own, on the caller's GPUDevice and GPUBuffers.
// A factory (matmul, elboRows, ...) gives WGSL + bindings + grid; `compileKernel` turns it into a
// pipeline (cached per device by source) whose `bind()` makes one bind group, which the caller
// records into their own compute pass or encoder, or runs directly. Nothing is copied or allocated
// beyond the pipeline and the bind group.
import { type BoundKernel, bindKernel } from '../shaders/common';
import type { BufferSlice } from './gpu/buffers';
import { pipelineCacheFor } from './gpu/pipelines';
import { KernelGraph } from './graph';

export { bindKernel, grid1D, STEP_PARAMS_WGSL, STEP_PARAMS_BYTES, type Kernel, type BoundKernel, type KernelBinding } from '../shaders/common';
export { matmul, columnSum, MATMUL_TILES, type MatmulParams, type MatmulVariant } from '../shaders/matmul';
export { activationForward, activationBackward, activationWGSL, ACTIVATIONS, type Activation } from '../shaders/activation';
export { reparamForward, reparamBackward, priorSample } from '../shaders/reparam';
export { elboRows, elboReduce, KL_WGSL, type Likelihood, type GaussianScale } from '../shaders/elbo';
export { optimizerStep, type Optimizer } from '../shaders/adam';
export { gatherBatch } from '../shaders/batch';
export { PHILOX_WGSL } from '../shaders/philox';
export { encodeStepParams, STREAM, type StepParams } from './step-params';
export { KernelGraph } from './graph';
export { PipelineCache, pipelineCacheFor, formatCompilationMessages } from './gpu/pipelines';

export interface BoundDispatch {
  readonly bindGroup: GPUBindGroup;
  /** Records setPipeline / setBindGroup / dispatchWorkgroups into the caller's pass. */
  record(pass: GPUComputePassEncoder): void;
  /** Records a pass of its own into the caller's encoder. */
  encode(encoder: GPUCommandEncoder): void;
  /** Encodes and submits on the device's queue. */
  run(): void;
}

export interface CompiledKernel extends BoundKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  bind(resources: Record<string, GPUBuffer | BufferSlice>): BoundDispatch;
}

/** Compiles a kernel (a factory's result with its shape bound) for `device`. */
export async function compileKernel(device: GPUDevice, kernel: BoundKernel): Promise<CompiledKernel> {
  const { pipeline, layout } = await pipelineCacheFor(device).get(kernel);
  return {
    ...kernel,
    pipeline,
    layout,
    bind(resources) {
      // Validation (names present, limits) is the graph's; a one-node graph does exactly that.
      const graph = new KernelGraph(kernel.name).add(kernel, resources);
      graph.checkLimits(device.limits);
      const node = graph.nodes[0];
      const bindGroup = device.createBindGroup({
        label: kernel.name,
        layout,
        entries: kernel.bindings.map((b, i) => {
          const s = node.resources[b.name];
          return { binding: i, resource: { buffer: s.buffer, offset: s.offset ?? 0, size: s.size } };
        }),
      });
      const record = (pass: GPUComputePassEncoder) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...kernel.workgroups);
      };
      const encode = (encoder: GPUCommandEncoder) => {
        const pass = encoder.beginComputePass({ label: kernel.name });
        record(pass);
        pass.end();
      };
      return {
        bindGroup, record, encode,
        run() {
          const enc = device.createCommandEncoder({ label: kernel.name });
          encode(enc);
          device.queue.submit([enc.finish()]);
        },
      };
    },
  };
}

/** Convenience: factory output + shape in one call. */
export function compile<S>(device: GPUDevice, kernel: import('../shaders/common').Kernel<S>, shape: S): Promise<CompiledKernel> {
  return compileKernel(device, bindKernel(kernel, shape));
}
