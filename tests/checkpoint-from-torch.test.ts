// Checkpoints written by hand from PyTorch, refused with the fix a PyTorch user needs: an unused
// tensor of another dtype (BatchNorm's int64 num_batches_tracked) is named as unused, to be
// dropped, not as a dtype to convert; extra tensors alone are not called missing ones; a shape
// mismatch names the configuration fields the shapes come from, defaults marked; a torch.save
// file is recognised as one; the CLI tells a config that disagrees with its tensors from damage.
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { resolveConfig } from '../src/model/config';
import { paramLayout } from '../src/model/build';
import { notACheckpoint, withDamageFix } from '../src/cli/checkpoint-file';

const config = { hidden: [8], latent: 2, inputDim: 12 };
const layout = paramLayout(resolveConfig(config));
const metadata = { format: 'webgpu-vae', version: '1', config: JSON.stringify(config) };
const BYTES: Record<string, number> = { F32: 4, F64: 8, I64: 8, F16: 2 };

/** A safetensors file of the model's tensors (F32, or `dtypes[name]`) plus `extra` entries. */
function file(opts: { dtypes?: Record<string, string>; extra?: Record<string, { dtype: string; shape: number[] }>; meta?: Record<string, string> } = {}): Uint8Array {
  const entries: [string, { dtype: string; shape: number[] }][] = [
    ...layout.tensors.map((t) => [t.name, { dtype: opts.dtypes?.[t.name] ?? 'F32', shape: t.shape }] as [string, { dtype: string; shape: number[] }]),
    ...Object.entries(opts.extra ?? {}),
  ];
  const header: Record<string, unknown> = { __metadata__: opts.meta ?? metadata };
  let at = 0;
  for (const [name, e] of entries) {
    const bytes = e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  return out;
}

describe('a checkpoint written from PyTorch', () => {
  it('reads when it holds exactly the model\'s F32 tensors (the fixture is right)', () => {
    expect(readCheckpoint(file(), 'ok.safetensors').flat.length).toBe(layout.totalFloats);
  });

  it('names an unused int64 tensor as unused, to be dropped, not as a dtype to convert', () => {
    const bytes = file({ extra: { 'encoder.bn.num_batches_tracked': { dtype: 'I64', shape: [] } } });
    expect(() => readCheckpoint(bytes, 'nbt.safetensors')).toThrow(/^nbt\.safetensors has a tensor this model does not use: encoder\.bn\.num_batches_tracked \("I64"\); save only the model's parameters \(in PyTorch: .* if k in needed\}/);
    expect(() => readCheckpoint(bytes, 'nbt.safetensors')).not.toThrow(/is not F32/);
  });

  it('names every unused tensor at once, of any dtype, and the CLI adds no config fix to it', () => {
    const bytes = file({ extra: { 'encoder.bn.num_batches_tracked': { dtype: 'I64', shape: [] }, 'encoder.bn.running_mean': { dtype: 'F32', shape: [8] } } });
    let message = '';
    try { readCheckpoint(bytes, 'bn.safetensors'); } catch (e) { message = (e as Error).message; }
    expect(message).toMatch(/^bn\.safetensors has 2 tensors this model does not use: encoder\.bn\.num_batches_tracked \("I64"\), encoder\.bn\.running_mean \("F32"\); save only the model's parameters/);
    expect(withDamageFix(message)).toBe(message);
  });

  it('says so when a parameter is not F32 either', () => {
    const bytes = file({ dtypes: { 'encoder.head.bias': 'F64' }, extra: { 'x.num_batches_tracked': { dtype: 'I64', shape: [] } } });
    expect(() => readCheckpoint(bytes, 'both.safetensors')).toThrow(/does not use: x\.num_batches_tracked \("I64"\); .*; one parameter is not F32 either, which that conversion fixes$/);
  });

  it('keeps the conversion fix where every tensor of another dtype is a parameter', () => {
    const bytes = file({ dtypes: { 'encoder.head.bias': 'F64' } });
    expect(() => readCheckpoint(bytes, 'f64.safetensors')).toThrow(/tensor 'encoder\.head\.bias' \("F64"\) is not F32, the only dtype read; convert before saving/);
  });

  it('calls extra F32 tensors extra, not missing ones', () => {
    const bytes = file({ extra: { 'decoder.extra.weight': { dtype: 'F32', shape: [2] } } });
    expect(() => readCheckpoint(bytes, 'extra.safetensors')).toThrow(/^extra\.safetensors holds more tensors than its configuration needs: it has a tensor this model does not use: decoder\.extra\.weight \(.*\); save only the model's parameters/);
  });

  it('shows an extra tensor with an empty name as such, not as nothing', () => {
    const f32 = file({ extra: { '': { dtype: 'F32', shape: [2] } } });
    expect(() => readCheckpoint(f32, 'empty.safetensors')).toThrow(/does not use: "" \(an empty name\) \(/);
    const i64 = file({ extra: { '': { dtype: 'I64', shape: [] } } });
    expect(() => readCheckpoint(i64, 'empty64.safetensors')).toThrow(/does not use: "" \(an empty name\) \("I64"\)/);
  });

  it('names the configuration fields behind a shape mismatch, marking the defaults', () => {
    // A model of 784 inputs whose config leaves inputDim out: the default (784) is what is compared.
    const { inputDim: _, ...withoutInput } = config;
    const bytes = file({ meta: { ...metadata, config: JSON.stringify(withoutInput) } });
    const message = (() => { try { readCheckpoint(bytes, 'dim.safetensors'); return ''; } catch (e) { return (e as Error).message; } })();
    expect(message).toMatch(/has shape \[8,12\] where \[8,784\] is needed/);
    expect(message).toMatch(/the shapes follow from the configuration in the file's metadata: arch "mlp" \(not in the file: the default\), inputDim 784 \(not in the file: the default\), hidden \[8\], latent 2, classes 0 \(not in the file: the default\)/);
  });

  it('gives the CLI\'s fix for a config that disagrees with its tensors, not "damaged"', () => {
    const { inputDim: _, ...withoutInput } = config;
    const bytes = file({ meta: { ...metadata, config: JSON.stringify(withoutInput) } });
    let message = '';
    try { readCheckpoint(bytes, 'dim.safetensors'); } catch (e) { message = withDamageFix((e as Error).message); }
    expect(message).toMatch(/; if you wrote this file \(from PyTorch, say\), make the config in its metadata describe the model its tensors belong to/);
    expect(message).not.toMatch(/the file is damaged or was written by something else/);
  });

  it('tells a torch.save file from other files, with the safetensors fix', () => {
    const zip = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0);
    expect(notACheckpoint('model.pt', zip)).toMatch(/^model\.pt is not a model checkpoint \(it is a zip archive \(the format of PyTorch's torch\.save, among others\)\); save the state_dict as safetensors with the metadata webgpu-vae reads \(safetensors\.torch\.save_file\(state_dict, path, metadata=\{"format": "webgpu-vae", "version": "1", "config": json\.dumps\(config\)\}\)/);
    const pickle = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20);
    expect(notACheckpoint('old.pt', pickle)).toMatch(/it is a Python pickle, as older PyTorch's torch\.save writes\); save the state_dict as safetensors/);
  });

  it('keeps a safetensors file whose header length starts like a pickle (896 bytes: 0x80 0x03) a safetensors file', () => {
    const plain = file();
    const length = new DataView(plain.buffer).getUint32(0, true);
    // The same file with its header padded by spaces (as writers pad to 8 bytes) to 896 bytes.
    const padded = new Uint8Array(plain.length + 896 - length);
    new DataView(padded.buffer).setUint32(0, 896, true);
    padded.set(plain.subarray(8, 8 + length), 8);
    padded.fill(0x20, 8 + length, 8 + 896);
    padded.set(plain.subarray(8 + length), 8 + 896);
    expect([padded[0], padded[1]]).toEqual([0x80, 0x03]);
    expect(readCheckpoint(padded, 'padded.safetensors').flat.length).toBe(layout.totalFloats);
    expect(notACheckpoint('padded.safetensors', padded)).toBeNull();
  });
});
