// How a rendered frame reaches a canvas on the page. Both paths keep the pixels on the GPU:
//  - CanvasPresenter: a WebGPU context on the OffscreenCanvas the page transferred to us. The
//    frame is shown when the worker's current task ends. The normal path.
//  - BitmapPresenter: renders into a detached OffscreenCanvas with a WebGPU context and hands
//    the finished frame over as an ImageBitmap (a GPU image, no CPU copy) to the page canvas's
//    'bitmaprenderer' context. Headless Chromium on SwiftShader does not composite WebGPU canvas
//    contexts (the swap chain image has no shared-image backing the GL compositor can read), but
//    does composite ImageBitmaps, so the tests and headless captures use this path.
import type { PresentMode } from '../shared/protocol';

export interface Presenter {
  /** Binds the canvas to `device` at `size`; returns the texture format to render in. */
  configure(device: GPUDevice, size: { width: number; height: number }): GPUTextureFormat;
  /** A view of the texture the next frame is drawn into. */
  targetView(): GPUTextureView;
  /** Call after the frame's commands are submitted. */
  present(): void;
}

function preferredFormat(): GPUTextureFormat {
  return navigator.gpu.getPreferredCanvasFormat();
}

/** Draws into a WebGPU context on `drawn`; the page shows `shown` (the same canvas by default). */
class CanvasPresenter implements Presenter {
  protected readonly context: GPUCanvasContext;

  constructor(protected readonly drawn: OffscreenCanvas, private readonly shown: OffscreenCanvas = drawn) {
    const ctx = drawn.getContext('webgpu');
    if (!ctx) throw new Error('this browser cannot create a WebGPU context on an OffscreenCanvas');
    this.context = ctx;
  }

  configure(device: GPUDevice, size: { width: number; height: number }): GPUTextureFormat {
    this.drawn.width = this.shown.width = size.width;
    this.drawn.height = this.shown.height = size.height;
    const format = preferredFormat();
    this.context.configure({ device, format, alphaMode: 'opaque' });
    return format;
  }

  targetView(): GPUTextureView {
    return this.context.getCurrentTexture().createView();
  }

  present(): void {
    // Presentation is implicit: the frame is committed when this task yields.
  }
}

/** Draws into a detached canvas and hands each frame to the page canvas as an ImageBitmap. */
class BitmapPresenter extends CanvasPresenter {
  private readonly target: ImageBitmapRenderingContext;

  constructor(canvas: OffscreenCanvas) {
    super(new OffscreenCanvas(1, 1), canvas);
    const target = canvas.getContext('bitmaprenderer');
    if (!target) throw new Error('this browser lacks the bitmaprenderer canvas context');
    this.target = target;
  }

  override present(): void {
    this.target.transferFromImageBitmap(this.drawn.transferToImageBitmap());
  }
}

export function createPresenter(canvas: OffscreenCanvas, mode: PresentMode): Presenter {
  return mode === 'bitmap' ? new BitmapPresenter(canvas) : new CanvasPresenter(canvas);
}
