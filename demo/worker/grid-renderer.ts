// Draws grids of images straight from the model's GPU output buffers: a full-screen triangle whose
// fragment shader finds the tile under each canvas pixel, looks up which image goes there in a
// small tile map, and reads that image's pixel from a storage buffer. Nothing is read back to the
// CPU; a frame is one render pass submitted after the compute work that filled the buffers, on
// the same device and queue, so it always shows the latest results. Colour images are planar
// (NCHW, as the model stores them): an image's red plane, then its green, then its blue.
import { canvasSize, type GridSpec } from '../shared/layout';
import type { Presenter } from './presenter';

/** Marks an empty tile in a tile map. */
export const EMPTY_TILE = 0xffffffff;
/** Tile map entry: image `index` of source buffer `source` (0 or 1). */
export const tile = (source: 0 | 1, index: number): number => ((source << 24) | index) >>> 0;

const SHADER = /* wgsl */ `
struct Grid {
  cols: u32, rows: u32, imgW: u32, imgH: u32,
  scale: u32, gap: u32, channels: u32, _pad1: u32,
  background: vec4f,
}
@group(0) @binding(0) var<uniform> grid: Grid;
@group(0) @binding(1) var<storage, read> tiles: array<u32>;
@group(0) @binding(2) var<storage, read> source0: array<f32>;
@group(0) @binding(3) var<storage, read> source1: array<f32>;

@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  // One triangle covering the viewport; the fragment stage does all the work.
  let p = array(vec2f(-1.0, -1.0), vec2f(3.0, -1.0), vec2f(-1.0, 3.0));
  return vec4f(p[i], 0.0, 1.0);
}

@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let p = vec2u(pos.xy);
  if (p.x < grid.gap || p.y < grid.gap) { return grid.background; }
  let imgPx = vec2u(grid.imgW, grid.imgH) * grid.scale;
  let cell = imgPx + vec2u(grid.gap);
  let t = (p - vec2u(grid.gap)) / cell;
  let inCell = (p - vec2u(grid.gap)) % cell;
  if (t.x >= grid.cols || t.y >= grid.rows || inCell.x >= imgPx.x || inCell.y >= imgPx.y) {
    return grid.background;
  }
  let entry = tiles[t.y * grid.cols + t.x];
  if (entry == 0xffffffffu) { return grid.background; }
  let q = inCell / grid.scale;
  let plane = grid.imgW * grid.imgH;
  let i = (entry & 0xffffffu) * plane * grid.channels + q.y * grid.imgW + q.x;
  let fromFirst = (entry >> 24u) == 0u;
  // Grey: the one plane in all three colours. RGB: planes 0, 1, 2.
  let g = select(plane, 0u, grid.channels == 1u);
  let rgb = vec3f(readPixel(fromFirst, i), readPixel(fromFirst, i + g), readPixel(fromFirst, i + 2u * g));
  // Bernoulli decoders give probabilities; Gaussian means may overshoot [0, 1].
  return vec4f(clamp(rgb, vec3f(0.0), vec3f(1.0)), 1.0);
}

fn readPixel(fromFirst: bool, i: u32) -> f32 {
  if (fromFirst) { return source0[i]; }
  return source1[i];
}`;

const UNIFORM_BYTES = 48;

/** One grid view: its pipeline state, uniforms and tile map; `draw` renders a frame. */
export class GridRenderer {
  private pipeline!: GPURenderPipeline;
  private layout!: GPUBindGroupLayout;
  private uniforms!: GPUBuffer;
  private tiles!: GPUBuffer;
  private empty!: GPUBuffer;
  private spec: GridSpec | null = null;
  private device: GPUDevice | null = null;

  constructor(private readonly presenter: Presenter, private readonly background: [number, number, number]) {}

  /**
   * (Re)builds GPU objects on `device` (a new one after device loss) for grids shaped like `spec`,
   * of images with `channels` planes (1: grey, 3: RGB).
   */
  setup(device: GPUDevice, spec: GridSpec, channels = 1): void {
    if (channels !== 1 && channels !== 3) throw new Error(`the image grid draws grey (1) or RGB (3) images, not ${channels} channels`);
    const format = this.presenter.configure(device, canvasSize(spec));
    if (this.device !== device) {
      this.device = device;
      const module = device.createShaderModule({ label: 'demo:grid', code: SHADER });
      const storage = (binding: number): GPUBindGroupLayoutEntry => ({ binding, visibility: GPUShaderStage.FRAGMENT, buffer: { type: 'read-only-storage' } });
      this.layout = device.createBindGroupLayout({
        label: 'demo:grid',
        entries: [{ binding: 0, visibility: GPUShaderStage.FRAGMENT, buffer: { type: 'uniform' } }, storage(1), storage(2), storage(3)],
      });
      this.pipeline = device.createRenderPipeline({
        label: 'demo:grid',
        layout: device.createPipelineLayout({ bindGroupLayouts: [this.layout] }),
        vertex: { module, entryPoint: 'vs' },
        fragment: { module, entryPoint: 'fs', targets: [{ format }] },
      });
      this.uniforms = device.createBuffer({ label: 'demo:grid-uniforms', size: UNIFORM_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      this.empty = device.createBuffer({ label: 'demo:grid-empty', size: 16, usage: GPUBufferUsage.STORAGE });
      this.tiles = this.empty;
    }
    this.spec = spec;
    const u = new ArrayBuffer(UNIFORM_BYTES);
    new Uint32Array(u, 0, 7).set([spec.cols, spec.rows, spec.imgW, spec.imgH, spec.scale, spec.gap, channels]);
    new Float32Array(u, 32, 4).set([...this.background, 1]);
    device.queue.writeBuffer(this.uniforms, 0, u);
    const count = spec.cols * spec.rows;
    if (this.tiles.size < count * 4) {
      if (this.tiles !== this.empty) this.tiles.destroy();
      this.tiles = device.createBuffer({ label: 'demo:grid-tiles', size: Math.max(16, count * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    }
  }

  get ready(): boolean {
    return this.spec !== null;
  }

  /**
   * Renders one frame. `sources` are [rows, channels*imgH*imgW] f32 buffers (the model's outputs or our
   * uploads); `tileMap` has one entry per tile (see `tile`). With no sources the grid is cleared.
   */
  draw(sources: GPUBuffer[], tileMap?: Uint32Array): void {
    const device = this.device, spec = this.spec;
    if (!device || !spec) return;
    const map = tileMap ?? new Uint32Array(spec.cols * spec.rows).fill(EMPTY_TILE);
    device.queue.writeBuffer(this.tiles, 0, map as Uint32Array<ArrayBuffer>);
    const bindGroup = device.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.uniforms } },
        { binding: 1, resource: { buffer: this.tiles } },
        { binding: 2, resource: { buffer: sources[0] ?? this.empty } },
        { binding: 3, resource: { buffer: sources[1] ?? sources[0] ?? this.empty } },
      ],
    });
    const encoder = device.createCommandEncoder({ label: 'demo:grid' });
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: this.presenter.targetView(), loadOp: 'clear', storeOp: 'store', clearValue: [...this.background, 1] }],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.draw(3);
    pass.end();
    device.queue.submit([encoder.finish()]);
    this.presenter.present();
  }

  /** Identity tile map for the first `count` images of source 0. */
  static sequence(spec: GridSpec, count: number): Uint32Array {
    const map = new Uint32Array(spec.cols * spec.rows).fill(EMPTY_TILE);
    for (let i = 0; i < Math.min(count, map.length); i++) map[i] = tile(0, i);
    return map;
  }
}
