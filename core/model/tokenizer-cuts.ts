// Where a text can be cut so that tokenising the pieces one by one gives exactly the ids of tokenising it whole
// (encode(a) ++ encode(b) == encode(a + b)): the corpus reader tokenises a huge document in bounded pieces this way.
// A cut is only ever placed where the tokenizer's own pre-tokenisation splits anyway, so no token spans it:
//  - GPT-2's byte-level regex, and the Llama 3 / Qwen split regexes: before a space that follows a non-space
//    (every alternative that starts at a space starts a chunk, and no chunk runs from a non-space into a space),
//    and between a letter and a punctuation mark or symbol (letter runs end there; the mark starts a chunk).
//  - Gemma's SentencePiece-style BPE (spaces become `▁`, no split): the same places, where additionally no merge
//    joins the two characters (the BPE then never merges across, and each side merges as it would whole).
// NFC (the only normaliser allowed) never composes across a space or a punctuation mark or symbol. Added tokens
// are matched in the raw text first, so a cut never falls inside one's content. Any other tokenizer has no cut.

interface TokenizerJsonForCuts {
  normalizer?: { type?: string; pattern?: { String?: string }; content?: string } | null;
  pre_tokenizer?: {
    type?: string;
    use_regex?: boolean;
    add_prefix_space?: boolean;
    pattern?: { String?: string; Regex?: string };
    behavior?: string;
    invert?: boolean;
    pretokenizers?: Array<{ type?: string; use_regex?: boolean; add_prefix_space?: boolean; pattern?: { Regex?: string }; behavior?: string; invert?: boolean }>;
  } | null;
  model?: { type?: string; merges?: Array<string | [string, string]>; dropout?: number | null; ignore_merges?: boolean; fuse_unk?: boolean; vocab?: Record<string, number> };
  added_tokens?: Array<{ content: string; lstrip?: boolean; rstrip?: boolean; single_word?: boolean }>;
}

/** The last index i in (from, to] at which text may be cut (before text[i]), or -1 if none. */
export type CutFinder = (text: string, from: number, to: number) => number;

// The split regexes of Llama 3 and of Qwen 2/3 (as in their tokenizer.json), whose chunking is analysed above.
const KNOWN_SPLITS = new Set([
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
]);

const LETTER = /\p{L}/u;
const MARK_OR_SYMBOL = /[\p{P}\p{S}]/u;
const SPACE = /\s/u;

/**
 * Why: the cut rule for a tokenizer.json, or a reason why it has none (the reader then tokenises a document
 * whole, up to a limit). `config` is tokenizer_config.json, whose text-mangling options rule cuts out.
 */
export function cutFinderFor(json: TokenizerJsonForCuts, config: Record<string, unknown> = {}): CutFinder | { none: string } {
  if (config.remove_space || config.do_lowercase_and_remove_accent) return { none: 'tokenizer_config.json trims or lowercases text' };
  const model = json.model ?? {};
  if (model.type !== 'BPE' || (model.dropout ?? 0) > 0) return { none: `model ${model.type ?? '?'}${model.dropout ? ' with dropout' : ''}` };
  const added = json.added_tokens ?? [];
  if (added.some((t) => t.lstrip || t.rstrip || t.single_word)) return { none: 'added tokens that strip or match single words' };
  // Pairs of characters inside an added token's content: a cut there could split a match.
  const forbidden = new Set<string>();
  for (const t of added) {
    const chars = Array.from(t.content);
    for (let i = 1; i < chars.length; i++) forbidden.add(chars[i - 1]! + chars[i]!);
  }

  const norm = json.normalizer ?? null;
  const pre = json.pre_tokenizer ?? null;
  const byteLevel = (p: { type?: string; add_prefix_space?: boolean; use_regex?: boolean } | undefined, regex: boolean) =>
    p?.type === 'ByteLevel' && !p.add_prefix_space && (p.use_regex ?? true) === regex;
  const nfcOrNone = norm === null || norm.type === 'NFC';
  const gpt2 = nfcOrNone && byteLevel(pre ?? undefined, true);
  const split = pre?.type === 'Sequence' && pre.pretokenizers?.length === 2 ? pre.pretokenizers : undefined;
  const llama =
    nfcOrNone &&
    split?.[0]?.type === 'Split' &&
    split[0].behavior === 'Isolated' &&
    !split[0].invert &&
    KNOWN_SPLITS.has(split[0].pattern?.Regex ?? '') &&
    byteLevel(split[1], false);
  const gemma =
    norm?.type === 'Replace' &&
    norm.pattern?.String === ' ' &&
    norm.content === '▁' &&
    (pre === null || (pre.type === 'Split' && pre.pattern?.String === ' ' && pre.behavior === 'MergedWithPrevious' && !pre.invert)) &&
    !model.ignore_merges;
  if (!gpt2 && !llama && !gemma) return { none: 'a normaliser or pre-tokeniser dreamsweep has no cut rule for' };

  // Gemma: the BPE runs over the whole text (a space is `▁` there), so a cut also needs no merge joining its two characters.
  let joined: ((a: string, b: string) => boolean) | undefined;
  if (gemma) {
    const pairs = new Set<string>();
    for (const m of model.merges ?? []) {
      const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
      const left = Array.from(a).at(-1);
      const right = Array.from(b)[0];
      if (left !== undefined && right !== undefined) pairs.add(left + right);
    }
    const vocab = model.vocab ?? {};
    const sp = (c: string) => (c === ' ' ? '▁' : c);
    // fuse_unk joins unknown tokens on both sides of a cut: both characters must be known tokens.
    const unknown = (c: string) => model.fuse_unk === true && vocab[sp(c)] === undefined;
    joined = (a, b) => pairs.has(sp(a) + sp(b)) || unknown(a) || unknown(b) || forbidden.has(sp(a) + sp(b));
  }
  return (text, from, to) => findCut(text, from, to, forbidden, joined);
}

function findCut(text: string, from: number, to: number, forbidden: Set<string>, joined?: (a: string, b: string) => boolean): number {
  for (let i = Math.min(to, text.length - 1); i > from; i--) {
    const a = text[i - 1]!;
    const b = text[i]!;
    // Code units: a surrogate half is never a letter, space, mark or symbol here, so a pair is never split.
    const ok = (b === ' ' && !SPACE.test(a) && !isSurrogate(a)) || (LETTER.test(a) && MARK_OR_SYMBOL.test(b));
    if (!ok || forbidden.has(a + b) || joined?.(a, b)) continue;
    return i;
  }
  return -1;
}

function isSurrogate(c: string): boolean {
  return c >= '\ud800' && c <= '\udfff';
}
