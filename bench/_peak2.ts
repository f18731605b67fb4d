import { measurePeak } from '../bench/peak';
import { acquireNodeDevice } from '../src/gpu/node-device';
const { device } = await acquireNodeDevice();
const r = await measurePeak(device, { log: (l) => console.log(l) });
console.log(JSON.stringify(r));
process.exit(0);
