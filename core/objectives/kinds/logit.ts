// logit: `logit[token] - max over the other tokens` at the last position.
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { distinct, obj, text, want } from '../../sweep/schema.js';
import { resolveToken } from './token.js';
import { tapRows } from './tap-rows.js';
import type { ObjectiveKind } from './types.js';

/** The sweep file's `targets.tokens`. */
const list = z
  .array(
    // A bare string is a token target with the default banned text.
    z.preprocess(
      (v) => (typeof v === 'string' ? { token: v } : v),
      obj(
        {
          token: text('the text of one token, or #<id>', 'mind the leading space: " dog" and "dog" are different tokens'),
          bannedText: z.string(want('a string', 'prompts containing it are rejected; "" bans nothing')).optional(),
        },
        'a token text, or a mapping { token, bannedText? }',
        'e.g. `- " dog"` or `- { token: " dog", bannedText: dog }`',
      ),
    ),
    want('a list of token texts or { token }', 'e.g. `tokens: [" dog", " king", "#42"]`'),
  )
  .superRefine(distinct('token target'))
  .default([]);
type Raw = z.output<typeof list>;

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A token target with its banned text: the paper bans prompts containing the token's text (any case); "" bans nothing; #<id> has no text here. */
function tokenTarget(token: string, bannedText: string | undefined): { token: string; bannedText?: string } {
  const banned = bannedText ?? (token.startsWith('#') ? undefined : token.trim() || undefined);
  return banned ? { token, bannedText: banned } : { token };
}

export const logit: ObjectiveKind<'logit'> = {
  kind: 'logit',
  forms: ['logit:<token text or #id>'],
  summary: 'logit[token] - max over the other tokens, at the last position',
  parse: (body, { shape, tokenizer, fail }) => ({ kind: 'logit', token: resolveToken(body, tokenizer, shape.dVocab, fail) }),
  validate(obj, cfg, bad) {
    if (!Number.isInteger(obj.token) || obj.token < 0 || obj.token >= cfg.dVocab) throw bad(`token: expected an id in 0..${cfg.dVocab - 1}, got ${obj.token}`);
  },
  taps: () => [],
  describe: (o) => ({ ...o }),

  sweepFile: {
    key: 'tokens',
    schema: list,
    count: (raw) => raw.length,
    build: (raw) => (raw as Raw).map(({ token, bannedText }) => tokenTarget(token, bannedText)),
  },
  method: 'logit',
  sweepTargets: (spec) =>
    spec.targets.tokens.map(({ token, bannedText }) => ({
      target: { kind: 'logit' as const, token, bannedText },
      seeds: spec.targets.seeds,
      id: (seed: number) => `logit/${JSON.stringify(token)}/s${seed}`,
    })),
  targetCount: (spec) => spec.targets.tokens.length,
  resolve: (t, { tokenizer, dVocab, where }) => ({
    kind: 'logit',
    token: resolveToken(t.token, tokenizer, dVocab, (why) => new UserError('E_SWEEP_TARGET', `${where}: targets.tokens ${why}`)),
  }),
  keyJson: (t) => `{${t.bannedText === undefined ? '' : `"bannedText":${JSON.stringify(t.bannedText)},`}"kind":"logit","token":${JSON.stringify(t.token)}}`,
  usesVectors: false,
  label: (t) => `logit ${JSON.stringify(t.token)}`,
  compare: (a, b) => cmp(a.token, b.token) || cmp(a.bannedText ?? '', b.bannedText ?? ''),
  bannedText: (t) => t.bannedText,
  // The spec's token text as written, banned as a sweep file's `- "<token>"` would be.
  targetOfSpec: (body) => ({ kind: 'logit', ...tokenTarget(body, undefined) }),
  lastToken: {
    taps: () => ['logits'],
    values: (objs, taps, B) => {
      const { values, d } = tapRows(taps, 'logits', B);
      return objs.map((o) =>
        Float64Array.from({ length: B }, (_, b) => {
          let others = -Infinity;
          for (let i = b * d, end = i + d, t = i + o.token; i < end; i++) if (i !== t && values[i]! > others) others = values[i]!;
          return values[b * d + o.token]! - others;
        }),
      );
    },
  },
};
