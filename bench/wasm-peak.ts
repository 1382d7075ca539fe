// The most float32 GFLOP/s one core gets from WebAssembly's 128-bit SIMD in this Node: 12 independent f32x4
// accumulators updated in registers only (acc = acc * m + c; no loads or stores), once as a multiply and an add,
// once as relaxed SIMD's fused multiply-add. A bound for any wasm matrix kernel (tfjs-wasm's XNNPACK build:
// `bench:matmul`) on this CPU. Prints one JSON object. Usage: tsx bench/wasm-peak.ts
import v8 from 'node:v8';
import wabtModule from 'wabt';

const ACCUMULATORS = 12; // enough to keep both FMA ports busy (4-cycle latency); 8 to 24 measure the same
const FLOPS_PER_UPDATE = 8; // four lanes, a multiply and an add each

function peakModule(fused: boolean): string {
  const acc = Array.from({ length: ACCUMULATORS }, (_, i) => `$a${i}`);
  const update = (a: string) =>
    fused
      ? `(local.set ${a} (f32x4.relaxed_madd (local.get ${a}) (local.get $m) (local.get $c)))`
      : `(local.set ${a} (f32x4.add (f32x4.mul (local.get ${a}) (local.get $m)) (local.get $c)))`;
  return `(module (func (export "run") (param $n i32) (result f32)
    (local $m v128) (local $c v128) ${acc.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $m (f32x4.splat (f32.const 0.5))) (local.set $c (f32x4.splat (f32.const 1)))
    ${acc.map((a, i) => `(local.set ${a} (f32x4.splat (f32.const ${i + 1})))`).join(' ')}
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ${acc.map(update).join(' ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    ${acc
      .slice(1)
      .map((a) => `(local.set $a0 (f32x4.add (local.get $a0) (local.get ${a})))`)
      .join(' ')}
    (f32x4.extract_lane 0 (local.get $a0))))`;
}

// @types/node 20 declares no WebAssembly global (TypeScript's lib.dom does): the two calls this bench makes.
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  instantiate(bytes: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

const wabt = await wabtModule();
const binary = (fused: boolean) => wabt.parseWat('peak.wat', peakModule(fused), { simd: true, relaxed_simd: true }).toBinary({}).buffer;
const mulAdd = binary(false);
const relaxedMadd = binary(true);
// Relaxed SIMD is on by default from Node 22 (V8 11.4); Node 20 has it behind a flag.
if (!wasm.validate(relaxedMadd)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

async function gflops(module: Uint8Array): Promise<number> {
  const { instance } = await wasm.instantiate(module);
  const run = instance.exports.run as (n: number) => number;
  const n = 2e7;
  run(n / 20);
  let best = 0;
  for (let trial = 0; trial < 5; trial++) {
    const t0 = performance.now();
    run(n);
    best = Math.max(best, (n * ACCUMULATORS * FLOPS_PER_UPDATE) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return Number(best.toFixed(1));
}

process.stdout.write(
  `${JSON.stringify({ bench: 'wasm-peak', node: process.version, dtype: 'float32', gflopsPerCore: { mulAdd: await gflops(mulAdd), relaxedMadd: await gflops(relaxedMadd) } })}\n`,
);
