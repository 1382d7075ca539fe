// `dreamsweep epo` through the real bin: files written, frontier table printed, resume identical, errors clear.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const MODEL = 'test/fixtures/models/tiny-parallel';
const KNOBS = ['--population', '4', '--children', '8', '--topk', '16', '--seq-len', '6', '--checkpoint-every', '4', '--quiet'];
const tmp = () => mkdtempSync(path.join(tmpdir(), 'dreamsweep-epo-'));
// Where the point is not the threads: one engine in the process, not a pool loading tfjs in each thread (2 s a run).
const ONE_THREAD = ['--threads', '1'];

describe('dreamsweep epo', () => {
  it('writes history, checkpoint and frontier, and prints the frontier table', async () => {
    const out = tmp();
    const r = await runCli(['epo', '--model', MODEL, '--objective', 'neuron:1:5', '--out', out, '--iters', '6', ...KNOBS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^\s*lambda\s+f\s+CE\s+perplexity\s+text$/);
    const frontier = JSON.parse(readFileSync(path.join(out, 'frontier.json'), 'utf8'));
    expect(frontier.points.length).toBeGreaterThan(0);
    for (const p of frontier.points) {
      expect(Object.keys(p).sort()).toEqual(['ce', 'f', 'ids', 'lambda', 'perplexity', 'text']);
      expect(p.ids).toHaveLength(6);
    }
    expect(readFileSync(path.join(out, 'history.safetensors')).length).toBeGreaterThan(0);
    expect(readFileSync(path.join(out, 'run-log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);
  });

  it('resumes a run to the same history and frontier as an uninterrupted one, on any threads and batch size', async () => {
    const [a, b] = [tmp(), tmp()];
    const args = ['epo', '--model', MODEL, '--objective', 'resid:1:random:7', ...KNOBS];
    expect((await runCli([...args, '--out', a, '--iters', '10', '--threads', '1'])).code).toBe(0);
    expect((await runCli([...args, '--out', b, '--iters', '5', '--threads', '2'])).code).toBe(0);
    const resumed = await runCli([...args, '--out', b, '--iters', '10', '--resume', '--threads', '2', '--max-batch', '3']);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const f of ['history.safetensors', 'frontier.json']) {
      expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), f).toBe(true);
    }
  });

  it('refuses to overwrite a run without --resume', async () => {
    const out = tmp();
    const args = ['epo', '--model', MODEL, '--objective', 'neuron:0:1', '--out', out, '--iters', '2', ...KNOBS, ...ONE_THREAD];
    expect((await runCli(args)).code).toBe(0);
    const again = await runCli(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a run.*--resume/);
  });

  it('explains a bad objective or knob in one line, exit code 2, no stack trace, before loading the model', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--objective', 'resid:9:random:1'], /layer 9 is out of range \[0, 2\]/],
      [['--objective', 'banana:1'], /unknown objective kind "banana"/],
      [['--objective', 'neuron:0:1', '--topk', '8', '--population', '0'], /population: expected an integer >= 1/],
      [['--objective', 'neuron:0:1', '--topk', '100000'], /topk: expected an integer in \[1, \d+\]/],
      [['--objective', 'neuron:0:1', '--topk', '8', '--seq-len', '1'], /seqLen: expected an integer >= 2/],
    ];
    const runs = await Promise.all(cases.map(([extra]) => runCli(['epo', '--model', MODEL, '--out', tmp(), '--iters', '2', '--quiet', ...ONE_THREAD, ...extra])));
    for (const [i, [, message]] of cases.entries()) {
      const r = runs[i]!;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toMatch(/dreamsweep: backend/); // printed once the engine has loaded
    }
  }, 120_000); // five processes at once: on a busy machine they may take past the default 60 s
});
