// Which models are alive on each device, so that a device this library acquired
// (acquire*Device) is destroyed with the last of them and never under one still using it.
// Models are counted per GPUDevice, however each was handed it: an app may pass the
// AcquiredDevice to one model and its raw `.device` to the next (e.g. loadCheckpoint's
// options), and both use the same device.
import { type AcquiredDevice, destroyOwnedDevice } from '../gpu/device';

interface Users {
  models: number;
  /** Whether any model was given the device as the library's own (an AcquiredDevice with `owned`). */
  owned: boolean;
}

const users = new WeakMap<GPUDevice, Users>();

/** Counts a new model on `acquired.device`; remembers that the device is ours to destroy when it says so. */
export function countModelOn(acquired: AcquiredDevice): void {
  const u = users.get(acquired.device) ?? { models: 0, owned: false };
  u.models++;
  u.owned ||= acquired.owned;
  users.set(acquired.device, u);
}

/**
 * Counts a model off `device`. With `destroyIfLast` (a model's destroy(), not a failed
 * creation, whose caller still holds the device) an owned device goes with its last model.
 */
export function countModelOff(device: GPUDevice, destroyIfLast: boolean): void {
  const u = users.get(device);
  if (!u) return;
  u.models = Math.max(0, u.models - 1);
  if (u.models > 0) return;
  if (u.owned && destroyIfLast) {
    destroyOwnedDevice(device, 'the last model on it destroyed it: a model given the result of acquire*Device() owns that device; give models { ...acquired, owned: false } to keep the device for your own work');
  }
  // An owned device keeps its mark: a model made on its raw handle later is still on our device.
  if (!u.owned) users.delete(device);
}
