// The tokenizer: a Hugging Face tokenizer.json (byte-level BPE, or whatever its model is) through
// @huggingface/tokenizers, behind the engine's Tokenizer interface. Encoding adds no special tokens; decoding keeps
// them verbatim. The BOS is what the tokenizer's own post-processing puts before a text (Llama 3, Gemma): found by
// asking the library, so every post-processor kind it knows counts, and no template is parsed here.
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from '../engine.js';
import { UserError } from '../errors.js';
import { cutFinderFor, type CutFinder } from './tokenizer-cuts.js';

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

/** A tokenizer.json loaded for encode/decode, with its vocabulary size and special ids. */
export class HfJsonTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialIds: ReadonlySet<number>;
  readonly bos?: number;
  /** Where a long text may be cut so that its pieces tokenise to the same ids (core/model/tokenizer-cuts.ts). */
  readonly cuts: CutFinder | { none: string };
  private readonly tok: HfTokenizer;

  private constructor(json: TokenizerJson, config: object, file: string) {
    const vocab = json.model?.vocab;
    if (typeof vocab !== 'object' || vocab === null) {
      throw new UserError('E_TOKENIZER', `${file}: model.vocab: expected an object of token -> id`);
    }
    let max = -1;
    for (const id of Object.values(vocab)) max = Math.max(max, id);
    const special = new Set<number>();
    for (const t of json.added_tokens ?? []) {
      max = Math.max(max, t.id);
      if (t.special) special.add(t.id);
    }
    this.vocabSize = max + 1;
    this.specialIds = special;
    try {
      this.tok = new HfTokenizer(json, config);
    } catch (e) {
      throw new UserError('E_TOKENIZER', `${file}: cannot build a tokenizer: ${(e as Error).message}`, { cause: e });
    }
    this.cuts = cutFinderFor(json, config as Record<string, unknown>);
    const bos = this.addedBefore(file);
    if (bos !== undefined) this.bos = bos;
  }

  /** The one token post-processing adds before a text, if any (more than one is refused: no model needs it). */
  private addedBefore(file: string): number | undefined {
    const plain = this.encode('a');
    const full = this.encodeWithSpecialTokens('a');
    const at = full.findIndex((_, i) => full.slice(i, i + plain.length).every((id, j) => id === plain[j]));
    if (at <= 0) return undefined;
    if (at > 1) {
      throw new UserError('E_TOKENIZER', `${file}: post_processor adds ${at} tokens before a text (${full.slice(0, at).join(', ')}); dreamsweep supports one (a BOS)`);
    }
    return full[0];
  }

  /** Reads `tokenizer.json` (and `tokenizer_config.json` beside it when present). */
  static fromFile(path: string, configPath?: string): HfJsonTokenizer {
    let json: TokenizerJson;
    try {
      json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      throw new UserError(
        missing ? 'E_MODEL_MISSING_FILE' : 'E_TOKENIZER',
        missing ? `${path}: file not found; a model directory needs tokenizer.json` : `${path}: not valid JSON`,
        { cause: e },
      );
    }
    let config: object = {};
    if (configPath) {
      try {
        config = JSON.parse(readFileSync(configPath, 'utf8')) as object;
      } catch {
        config = {}; // optional file: absent or unreadable means defaults
      }
    }
    return new HfJsonTokenizer(json, config, path);
  }

  /** Text -> ids, with no special tokens added (prompts are raw token sequences). */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text -> ids as the tokenizer's own post-processing makes them (a BOS first where it adds one). */
  encodeWithSpecialTokens(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: true }).ids;
  }

  /** Ids -> text; `decode([])` is the empty string (the library throws on an empty list). */
  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The token's string form in the vocabulary (`Ġthe`), or undefined for an unknown id. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}
