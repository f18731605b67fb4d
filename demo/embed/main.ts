// Embedding webgpu-vae in an app that owns its GPU: this page creates its own GPUDevice, its own
// render pipeline and its own animation loop, and asks the library for a model on that device
// (trained here for 300 steps, or read from a file) and to run its decoder there. Each frame decodes a few latent codes on a walk around a circle and draws the model's
// output GPUBuffer with a fragment shader: the pixels never travel to the CPU and back.
import { loadCheckpoint, VAE } from '../../src/index';
import { mnistSubset, QUICK_CONFIG, QUICK_TRAINING, train } from './train';

const COLS = 4, ROWS = 2, COUNT = COLS * ROWS; // images on screen
const IMG = 28, SCALE = 4, GAP = 4; // 28 x 28 images, 4 canvas pixels per image pixel, 4 between images
const PERIOD_MS = 12_000; // one lap of the circle
const RADIUS = 1.5; // in prior standard deviations: the circle stays where N(0, I) has its mass
const STEPS = 300; // the default model's training steps

const canvas = document.querySelector<HTMLCanvasElement>('#walk')!;
const statusEl = document.querySelector<HTMLElement>('#status')!;
const fileInput = document.querySelector<HTMLInputElement>('#file')!;
function say(text: string): void {
  statusEl.textContent = text;
  statusEl.classList.remove('error');
}
/** Shows `e` as the status; `still` names the model the walk keeps showing, if any (a refused file leaves the last one). */
function fail(e: unknown, still?: string): void {
  console.error(e);
  say(`Error: ${e instanceof Error ? e.message : String(e)}${still ? `. The walk still shows ${still}.` : ''}`);
  statusEl.classList.add('error');
}

const SHADER = /* wgsl */ `
override COLS: u32;
override ROWS: u32;
override SCALE: u32;
override GAP: u32;
const IMG = 28u;
const BACKGROUND = vec4f(0.086, 0.106, 0.133, 1.0);

// The decoder's output, [COLS * ROWS, 784] f32 pixel means, bound read-only: the model owns it.
@group(0) @binding(0) var<storage, read> pixels: array<f32>;

@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  // One triangle covering the canvas; the fragment shader finds the image pixel under each point.
  let corner = array(vec2f(-1, -1), vec2f(3, -1), vec2f(-1, 3));
  return vec4f(corner[i], 0, 1);
}

@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let p = vec2u(pos.xy) - vec2u(GAP); // wraps to huge values in the top and left margins
  let cell = IMG * SCALE + GAP;
  let tile = p / cell;
  let q = (p % cell) / SCALE; // the image pixel; >= IMG in the gaps
  if (tile.x >= COLS || tile.y >= ROWS || q.x >= IMG || q.y >= IMG) { return BACKGROUND; }
  // Bernoulli decoders give probabilities; a Gaussian decoder's means can leave [0, 1].
  let v = clamp(pixels[(tile.y * COLS + tile.x) * IMG * IMG + q.y * IMG + q.x], 0.0, 1.0);
  return vec4f(v, v, v, 1);
}`;

/**
 * The latent codes to draw at time `ms`, [COUNT, latent]: image k is the walk k/COUNT of a lap
 * ahead, so the row reads as a film strip. The walk circles the origin in the first two latent
 * dimensions; any others stay at the prior mean, 0.
 */
function walk(ms: number, latent: number): Float32Array {
  const z = new Float32Array(COUNT * latent);
  for (let k = 0; k < COUNT; k++) {
    const angle = 2 * Math.PI * (ms / PERIOD_MS + k / COUNT);
    z[k * latent] = RADIUS * Math.cos(angle);
    if (latent > 1) z[k * latent + 1] = RADIUS * Math.sin(angle);
  }
  return z;
}

/** Labels for a conditional model's decoder: image k shows class k (modulo the class count); none otherwise. */
function classes(vae: VAE): Uint32Array | undefined {
  const n = vae.config.classes;
  return n ? Uint32Array.from({ length: COUNT }, (_, k) => k % n) : undefined;
}

/**
 * Where frames go: normally a WebGPU context on the page's canvas. With ?present=bitmap, a detached
 * OffscreenCanvas whose frames are handed to the page's canvas as ImageBitmaps (still GPU images),
 * because headless Chromium on a software GPU does not composite WebGPU canvases.
 */
function presenter(device: GPUDevice, format: GPUTextureFormat) {
  const offscreen = new URLSearchParams(location.search).get('present') === 'bitmap' ? new OffscreenCanvas(canvas.width, canvas.height) : null;
  const context = (offscreen ? offscreen.getContext('webgpu') : canvas.getContext('webgpu'))!;
  context.configure({ device, format, alphaMode: 'opaque' });
  const bitmaps = offscreen && canvas.getContext('bitmaprenderer')!;
  return {
    view: () => context.getCurrentTexture().createView(),
    show: () => bitmaps?.transferFromImageBitmap(offscreen!.transferToImageBitmap()),
  };
}

async function main(): Promise<void> {
  // Our device, with default limits: the model needs nothing more. VAE.create never makes another.
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error('WebGPU is not available here: use a browser with WebGPU, over https or localhost');
  const device = await adapter.requestDevice({ label: 'embed-app' });
  device.addEventListener('uncapturederror', (e) => fail(new Error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`)));
  device.lost.then((info) => info.reason !== 'destroyed' && fail(new Error(`the GPU device was lost: ${info.message}`)));

  canvas.width = COLS * (IMG * SCALE + GAP) + GAP;
  canvas.height = ROWS * (IMG * SCALE + GAP) + GAP;
  const format = navigator.gpu.getPreferredCanvasFormat();
  const output = presenter(device, format);

  // Our pipeline and bind group layout, created once.
  const layout = device.createBindGroupLayout({
    entries: [{ binding: 0, visibility: GPUShaderStage.FRAGMENT, buffer: { type: 'read-only-storage' } }],
  });
  const module = device.createShaderModule({ label: 'embed:walk', code: SHADER });
  const pipeline = device.createRenderPipeline({
    label: 'embed:walk',
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    vertex: { module },
    fragment: { module, targets: [{ format }], constants: { COLS, ROWS, SCALE, GAP } },
  });

  // The model on screen, with the bind group of its output buffer. decodeToBuffer returns the same
  // buffer on every call with the same row count, so one bind group per model serves every frame.
  let shown: { vae: VAE; buffer: GPUBuffer; bindGroup: GPUBindGroup } | null = null;
  let drawing: Promise<void> | null = null;
  async function show(vae: VAE): Promise<void> {
    const buffer = await vae.decodeToBuffer(walk(0, vae.config.latent), classes(vae));
    const old = shown;
    shown = { vae, buffer, bindGroup: device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer } }] }) };
    await drawing; // let a frame that uses the old model finish first
    old?.vae.destroy(); // frees the model's buffers; our device stays ours
  }

  // Our loop. One frame = the decoder's compute work, then our render pass, on the same queue.
  let frames = 0;
  async function draw(m: NonNullable<typeof shown>, now: number): Promise<void> {
    const buffer = await m.vae.decodeToBuffer(walk(now, m.vae.config.latent), classes(m.vae)); // submits; reads nothing back
    if (buffer !== m.buffer) throw new Error('the model moved its output buffer; rebuild the bind group');
    const encoder = device.createCommandEncoder({ label: 'embed:frame' });
    const pass = encoder.beginRenderPass({ colorAttachments: [{ view: output.view(), loadOp: 'clear', storeOp: 'store' }] });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, m.bindGroup);
    pass.draw(3);
    pass.end();
    // Submitted after the decode on the same queue, so it reads this frame's pixels: no fence needed.
    device.queue.submit([encoder.finish()]);
    output.show();
    canvas.dataset.frames = String(++frames);
    canvas.dataset.walkMs = String(Math.round(now)); // the walk's clock at this frame, for tests that wait for it to move
    // Keep at most one frame in flight: a software GPU cannot keep up with 60 frames a second.
    await device.queue.onSubmittedWorkDone();
  }
  function frame(now: number): void {
    requestAnimationFrame(frame);
    if (!shown || drawing) return;
    drawing = draw(shown, now).catch(fail).finally(() => (drawing = null));
  }
  requestAnimationFrame(frame);

  // A model the user picks replaces the default one; stop its training first (a model must not be
  // destroyed in the middle of a step).
  let stop = false, training: Promise<void> = Promise.resolve();
  // What the walk shows, for a refused file to name: the quick model (and how far it trained), or a file.
  let walkingFile: string | null = null, quickShown = false, trainedTo = 0;
  const quickModel = () => `the quick model${trainedTo < STEPS ? ` (its training stopped at step ${trainedTo} of ${STEPS})` : ''}`;
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    stop = true;
    try {
      await training;
      say(`Loading ${file.name}…`);
      const vae = await loadCheckpoint(new Uint8Array(await file.arrayBuffer()), { device }, file.name);
      if (vae.config.inputDim !== IMG * IMG) {
        vae.destroy();
        const shape = [...(vae.config.imageChannels > 1 ? [vae.config.imageChannels] : []), ...vae.config.imageShape].join(' x ');
        throw new Error(`${file.name} models ${shape} images; this example draws 28 x 28 grey ones (MNIST, Fashion-MNIST)`);
      }
      await show(vae);
      walkingFile = file.name;
      say(`Walking through ${file.name} (latent ${vae.config.latent}, hidden [${vae.config.hidden.join(', ')}])`);
    } catch (e) {
      fail(e, walkingFile ?? (quickShown ? quickModel() : undefined));
    }
  });

  // The default model: walk it from its first step, so the digits sharpen as it trains.
  say('Downloading MNIST…');
  const images = await mnistSubset();
  if (stop) return;
  let loss = NaN; // read back every 16 steps (TrainingOptions.lossEvery), so it lags a little
  const lossText = () => (Number.isNaN(loss) ? '…' : loss.toFixed(1));
  const vae = await VAE.create(QUICK_CONFIG, { device, ...QUICK_TRAINING, onLosses: (l) => (loss = l.at(-1)!.loss) });
  if (stop) return vae.destroy();
  await show(vae);
  quickShown = true;
  training = train(vae, images, STEPS, (step) => {
    trainedTo = step;
    say(`Training on 2,000 MNIST digits: step ${step} / ${STEPS} · loss ${lossText()}`);
    return !stop;
  });
  await training;
  if (!stop) say(`Walking through the quick model (${STEPS} steps, loss ${lossText()}); pick a model.safetensors to walk through yours`);
}

main().catch(fail);
