// Directions from matrices researchers have: SAE decoder rows in .safetensors (with a SAELens cfg.json),
// probe weights and plain [count, d_model] arrays in .npy; rows by list or range; clear refusals.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../core/errors.js';
import { f32ToF16 } from '../../../core/model/safetensors.js';
import { decodeNpy } from '../../../core/npy.js';
import { parseObjective } from '../../../core/objectives/spec.js';
import { encodeVectorSet, readVectorSource } from '../../../core/objectives/vectors.js';
import { encodeTensors, safetensorsBytes } from '../../../core/tensor-file.js';
import { fakeEngine } from '../../helpers/fake-engine.js';

const D = 8;
/** Row r of the test matrix: entry j is r + j / 10 (never all zero). */
const row = (r: number) => Array.from({ length: D }, (_, j) => r + j / 10 + 0.5);
const matrix = (rows: number) => Float32Array.from(Array.from({ length: rows }, (_, r) => row(r)).flat());

/** A .npy file written by hand: magic, version 1.0, a header padded to 64 bytes with a newline, the data. */
function npyBytes(descr: string, shape: number[], data: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.alloc(2), Buffer.from(header, 'latin1')]);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, data]);
}
const bytesOf = (a: Float32Array | Float64Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function dir(): string {
  return mkdtempSync(path.join(tmpdir(), 'matrix-'));
}

/** What a UserError says, failing the test when `run` does not throw one with `code`. */
function refusal(run: () => unknown, code = 'E_VECTORS_MATRIX'): string {
  try {
    run();
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

function saeDir(
  cfg?: Record<string, unknown>,
  tensors = { W_dec: { dtype: 'F32' as const, shape: [6, D], data: matrix(6) }, W_enc: { dtype: 'F32' as const, shape: [D, 6], data: matrix(6) } },
) {
  const d = dir();
  writeFileSync(path.join(d, 'sae_weights.safetensors'), encodeTensors(tensors));
  if (cfg) writeFileSync(path.join(d, 'cfg.json'), JSON.stringify(cfg));
  return path.join(d, 'sae_weights.safetensors');
}

describe('.npy reader', () => {
  it('reads little-endian float32, float64 and float16 in C order', () => {
    const f4 = decodeNpy(npyBytes('<f4', [2, 3], bytesOf(Float32Array.from([1, 2, 3, 4, 5, 6]))), 'a.npy');
    expect(f4.shape).toEqual([2, 3]);
    expect(Array.from(f4.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const f8 = decodeNpy(npyBytes('<f8', [3], bytesOf(Float64Array.from([0.25, -1, 1e10]))), 'b.npy');
    expect(Array.from(f8.data)).toEqual([0.25, -1, 1e10]);
    const f2 = decodeNpy(npyBytes('<f2', [2], bytesOf(Uint16Array.from([f32ToF16(1.5), f32ToF16(-0.125)]))), 'c.npy');
    expect(Array.from(f2.data)).toEqual([1.5, -0.125]);
  });

  it('refuses Fortran order, other dtypes, truncation and non-npy bytes, naming the file', () => {
    const data = bytesOf(Float32Array.from([1, 2, 3, 4]));
    expect(refusal(() => decodeNpy(npyBytes('<f4', [2, 2], data, true), 'f.npy'), 'E_NPY_FILE')).toMatch(/f\.npy: .*Fortran.*ascontiguousarray/);
    expect(refusal(() => decodeNpy(npyBytes('>f4', [2, 2], data), 'b.npy'), 'E_NPY_FILE')).toMatch(/b\.npy: dtype >f4 is not supported/);
    expect(refusal(() => decodeNpy(npyBytes('<i8', [2], data), 'i.npy'), 'E_NPY_FILE')).toMatch(/dtype <i8/);
    expect(refusal(() => decodeNpy(npyBytes('<f4', [3, 2], data), 't.npy'), 'E_NPY_FILE')).toMatch(/needs 24 data bytes, the file has 16: truncated/);
    expect(refusal(() => decodeNpy(new Uint8Array(20), 'z.npy'), 'E_NPY_FILE')).toMatch(/not a \.npy file/);
  });
});

describe('directions from a matrix file', () => {
  it('takes W_dec rows of a SAELens SAE at the layer its cfg.json names, by list or range', () => {
    const file = saeDir({ hook_name: 'blocks.3.hook_resid_pre', hook_layer: 3, d_in: D });
    const all = readVectorSource({ file }, D, [1, 3]);
    expect([...all.keys()]).toEqual([3]);
    expect(all.get(3)!.map((v) => Array.from(v))).toEqual(Array.from({ length: 6 }, (_, r) => Array.from(Float32Array.from(row(r)))));
    const list = readVectorSource({ file, rows: [5, 1] }, D, [3]).get(3)!;
    expect(list.map((v) => v[0])).toEqual([5.5, 1.5]);
    const range = readVectorSource({ file, rows: { from: 2, to: 4 } }, D, [3]).get(3)!;
    expect(range.map((v) => v[0])).toEqual([2.5, 3.5, 4.5]);
  });

  it('gives the same vector set bytes (so the same units) for the same rows from a .npy and a .safetensors file', () => {
    const sae = saeDir();
    const npy = path.join(dir(), 'probe.npy');
    writeFileSync(npy, npyBytes('<f8', [6, D], bytesOf(Float64Array.from(matrix(6)))));
    const a = readVectorSource({ file: sae, rows: [4, 0], layer: 2 }, D, [2]);
    const b = readVectorSource({ file: npy, rows: [4, 0] }, D, [2]);
    expect(encodeVectorSet(b, [2])).toBe(encodeVectorSet(a, [2]));
  });

  it('reads F16 tensors, a named tensor and a 1-D probe vector', () => {
    const d = dir();
    const f16 = Uint16Array.from(matrix(2), f32ToF16);
    const file = path.join(d, 'probe.safetensors');
    writeFileSync(
      file,
      safetensorsBytes(
        [
          ['probe.weight', { dtype: 'F16', shape: [2, D], bytes: bytesOf(f16) }],
          ['bias', { dtype: 'F16', shape: [D], bytes: bytesOf(f16.slice(0, D)) }],
        ],
        {},
      ),
    );
    expect(readVectorSource({ file, tensor: 'probe.weight', rows: 1 }, D, [0]).get(0)![0]![0]).toBe(1.5);
    expect(readVectorSource({ file }, D, [0]).get(0)).toHaveLength(2); // the only 2-D tensor
    expect(readVectorSource({ file, tensor: 'bias' }, D, [0]).get(0)).toHaveLength(1);
  });

  it('refuses wrong shapes, missing tensors and rows, naming the file and tensor', () => {
    const file = saeDir();
    expect(refusal(() => readVectorSource({ file, tensor: 'W_enc' }, D, [0]))).toMatch(
      /sae_weights\.safetensors: tensor W_enc: shape \[8, 6\] is not \[count, d_model = 8\].*looks transposed/,
    );
    expect(refusal(() => readVectorSource({ file }, 16, [0]))).toMatch(/tensor W_dec: shape \[6, 8\] is not \[count, d_model = 16\]/);
    expect(refusal(() => readVectorSource({ file, tensor: 'decoder' }, D, [0]))).toMatch(/no tensor "decoder"; the file has W_dec \[6, 8\], W_enc \[8, 6\]/);
    expect(refusal(() => readVectorSource({ file, rows: [2, 6] }, D, [0]))).toMatch(/tensor W_dec: rows \[2, 6\] include 6, but the matrix has 6 rows \(0\.\.5\)/);
    expect(refusal(() => readVectorSource({ file }, D, [0, 1]))).toMatch(/which layer.*Give `layer:`/);
    const two = saeDir(undefined, { A: { dtype: 'F32', shape: [1, D], data: matrix(1) }, B: { dtype: 'F32', shape: [1, D], data: matrix(1) } } as never);
    expect(refusal(() => readVectorSource({ file: two }, D, [0]))).toMatch(/no tensor W_dec and 2 2-D tensors; name one with `tensor:`/);
    expect(refusal(() => readVectorSource({ file: path.join(dir(), 'gone.npy') }, D, [0]), 'E_VECTORS_FILE')).toMatch(/gone\.npy: cannot read.*file not found/);
  });

  it('refuses a zero row (a dead SAE latent) by its row number', () => {
    const data = matrix(3);
    data.fill(0, D, 2 * D);
    const file = saeDir(undefined, { W_dec: { dtype: 'F32', shape: [3, D], data } } as never);
    expect(refusal(() => readVectorSource({ file, rows: [0, 1] }, D, [0]), 'E_VECTORS_VALUE')).toMatch(/tensor W_dec: row 1: the vector is zero/);
  });

  it('reports a NaN row as NaN (not as an overflow)', () => {
    const data = matrix(3);
    data[D + 2] = NaN;
    const file = saeDir(undefined, { W_dec: { dtype: 'F32', shape: [3, D], data } } as never);
    expect(refusal(() => readVectorSource({ file, rows: [0, 1] }, D, [0]), 'E_VECTORS_VALUE')).toMatch(/tensor W_dec: row 1: entry 2 is NaN/);
  });

  it('refuses a cfg.json hook on another site or layer', () => {
    const post = saeDir({ hook_name: 'blocks.3.hook_resid_post' });
    expect(refusal(() => readVectorSource({ file: post }, D, [3]))).toMatch(/cfg\.json: hook_name blocks\.3\.hook_resid_post reads resid_post, not resid_pre/);
    const mlp = saeDir({ hook_name: 'blocks.2.hook_mlp_out' });
    expect(refusal(() => readVectorSource({ file: mlp }, D, [2]))).toMatch(/reads mlp_out, not resid_pre/);
    const at3 = saeDir({ hook_name: 'blocks.3.hook_resid_pre' });
    expect(refusal(() => readVectorSource({ file: at3, layer: 2 }, D, [2, 3]))).toMatch(
      /tensor W_dec: layer 2 was asked for, but .*cfg\.json says the directions are in resid_pre\.3/,
    );
    const odd = saeDir({ hook_name: 'blocks.3.hook_resid_pre', hook_layer: 4 });
    expect(refusal(() => readVectorSource({ file: odd }, D, [3]))).toMatch(/hook_layer 4 disagrees with hook_name/);
  });

  it('serves the CLI: resid:<layer>:<file>#[<tensor>:]<row>', () => {
    const engine = fakeEngine({ vocab: 20, seqLen: 4 });
    const file = saeDir({ hook_name: 'blocks.1.hook_resid_pre' });
    const o = parseObjective(`resid:1:${file}#4`, engine.shape, engine.tokenizer);
    expect(o.kind === 'resid' && Array.from(o.vector)).toEqual(Array.from(Float32Array.from(row(4))));
    const named = parseObjective(`resid:1:${file}#W_dec:2`, engine.shape, engine.tokenizer);
    expect(named.kind === 'resid' && named.vector[0]).toBe(2.5);
    expect(refusal(() => parseObjective(`resid:2:${file}#0`, engine.shape, engine.tokenizer))).toMatch(/layer 2 was asked for.*resid_pre\.1/);
    expect(refusal(() => parseObjective(`resid:1:${file}#9`, engine.shape, engine.tokenizer))).toMatch(/include 9, but the matrix has 6 rows/);
  });
});
