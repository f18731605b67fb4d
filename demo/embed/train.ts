// The default model, so the page works with no file: download the MNIST training images from the
// page's own server (the Vite plugin serves them at mnist/), keep a small subset and train a small
// VAE for a few hundred steps. This runs on the main thread for brevity; the main demo does the
// same work in a worker (demo/worker/session.ts), which is what an app with real training wants.
import { Philox, parseIdxMaybeGzip, type VAE, type VaeConfig } from '../../src/index';

/** A 2-d latent space, so a circle in it passes through most digits the model has learned. */
export const QUICK_CONFIG: Partial<VaeConfig> = { latent: 2, hidden: [128] };
export const QUICK_TRAINING = { batch: 64, lr: 2e-3, seed: 0 };
const SUBSET = 2000;

/** The first SUBSET training images, u8 pixels [SUBSET, 784]. */
export async function mnistSubset(): Promise<Uint8Array> {
  const name = 'train-images-idx3-ubyte.gz';
  const response = await fetch(new URL(`mnist/${name}`, document.baseURI));
  if (!response.ok) throw new Error(`could not download mnist/${name} (HTTP ${response.status}); serve the page with npm run demo or npm run preview`);
  const idx = await parseIdxMaybeGzip(new Uint8Array(await response.arrayBuffer()), name);
  return idx.data.slice(0, SUBSET * 784); // a copy, so the 47 MB file can be collected
}

/**
 * Trains `vae` for `steps` steps on `images`, calling `progress` after each; stops early when it
 * returns false. The walk keeps drawing meanwhile: training and drawing share one device and queue.
 */
export async function train(vae: VAE, images: Uint8Array, steps: number, progress: (step: number) => boolean): Promise<void> {
  // The data lives on the GPU; each step then uploads only its 96-byte parameter block.
  const data = vae.upload({ images, count: SUBSET, name: 'mnist-subset' });
  const shuffle = new Philox(vae.training.seed, 1);
  const perEpoch = Math.ceil(SUBSET / vae.training.batch);
  try {
    for (let step = 0; step < steps; step++) {
      if (step % perEpoch === 0) data.setOrder(shuffle.permutation(SUBSET));
      await vae.trainStep({ data, index: step % perEpoch });
      // Wait for the GPU after every step: otherwise dozens of steps queue up ahead of the walk's
      // frames (a software GPU runs a step in tens of ms), and this also yields to the event loop
      // so requestAnimationFrame keeps firing while we train on the main thread.
      await vae.device.queue.onSubmittedWorkDone();
      if (!progress(step + 1)) break;
    }
    await vae.readLosses(); // settle the pending loss read-backs before anyone destroys the model
  } finally {
    data.destroy();
  }
}
