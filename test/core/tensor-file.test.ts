// Our safetensors writer and reader for histories and checkpoints.
import { describe, expect, it } from 'vitest';
import { decodeTensors, encodeTensors } from '../../core/tensor-file.js';

describe('tensor files', () => {
  const tensors = {
    b: { dtype: 'U8' as const, shape: [3], data: Uint8Array.from([1, 0, 1]) },
    a: { dtype: 'I32' as const, shape: [2, 2], data: Int32Array.from([1, -2, 3, 2 ** 30]) },
    c: { dtype: 'F64' as const, shape: [1], data: Float64Array.from([Math.PI]) },
  };

  it('round-trips typed arrays and metadata, also from an unaligned Buffer view', () => {
    const bytes = encodeTensors(tensors, { format: 'x' });
    // A Buffer at an odd offset inside a larger allocation, as readFileSync and network reads give.
    const host = Buffer.alloc(bytes.length + 3);
    host.set(bytes, 3);
    const { tensors: back, metadata } = decodeTensors(host.subarray(3), 'test');
    expect(metadata).toEqual({ format: 'x' });
    expect(Array.from(back.a!.data)).toEqual([1, -2, 3, 2 ** 30]);
    expect(Array.from(back.b!.data)).toEqual([1, 0, 1]);
    expect(back.c!.data[0]).toBe(Math.PI);
  });

  it('writes the same bytes whatever the order tensors are given in', () => {
    const reversed = Object.fromEntries(Object.entries(tensors).reverse());
    expect(Buffer.from(encodeTensors(tensors)).equals(Buffer.from(encodeTensors(reversed)))).toBe(true);
  });

  it('names the source when the file is truncated', () => {
    const bytes = encodeTensors(tensors);
    expect(() => decodeTensors(bytes.subarray(0, bytes.length - 4), 'ck.safetensors')).toThrow(/ck.safetensors.*truncated/);
  });
});
