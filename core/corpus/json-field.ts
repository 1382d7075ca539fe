// One top-level string field of a JSON line too long to parse whole: a validating scanner fed the line's text in
// pieces, in memory bounded by the nesting depth. It accepts exactly what JSON.parse accepts, finds the field's
// last occurrence (JSON.parse keeps the last of duplicate keys) and reports what the reader's errors need (the
// value's type, the first keys in Object.keys order); a second pass hands out that string's text in pieces.
// (No npm streaming parser fits: they hand out a string value whole, or do not tell Object.keys' order.)

/** What a line holds where its text field should be (`value` only when parsed whole). */
export type FieldFound =
  | { kind: 'syntax'; message: string }
  | { kind: 'not-object'; got: string }
  | { kind: 'missing'; keys: string[] }
  | { kind: 'value'; type: string; occurrence: number; value?: unknown };

/** The same for a line JSON.parse read whole. */
export function fieldOf(obj: unknown, field: string): FieldFound {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { kind: 'not-object', got: Array.isArray(obj) ? 'an array' : typeof obj };
  const value = (obj as Record<string, unknown>)[field];
  if (value === undefined) return { kind: 'missing', keys: Object.keys(obj).slice(0, KEY_KEEP) };
  return { kind: 'value', type: value === null ? 'null' : typeof value, occurrence: 0, value };
}

/** A line that JSON.parse would reject; the message says where, as a character index into the line. */
export class JsonSyntaxError extends Error {}

const enum S {
  Value,
  ObjectFirstKey,
  ObjectKey,
  Colon,
  ObjectNext,
  ArrayFirstValue,
  ArrayNext,
  String,
  Number,
  Literal,
  Done,
}
// Number sub-states: after '-', after a leading 0, in the integer, after '.', in the fraction, after e, after e's sign, in the exponent.
const enum N {
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  E,
  ESign,
  Exp,
}
const NUMBER_ENDS = new Set([N.Zero, N.Int, N.Frac, N.Exp]);
const KEY_KEEP = 8; // the reader's message lists the first 8 keys
const KEY_CHARS = 1_000; // a listed key is cut here (a key itself can be huge)
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

export class JsonFieldScanner {
  private state = S.Value;
  private position = 0;
  private stack = new Uint8Array(64); // 1: in an object, 2: in an array
  private depth = 0;
  private number = N.Int;
  private literal = '';
  private literalAt = 0;
  private escape = 0; // 0: none, 1: after '\', 2..5: reading \u hex digits
  private hex = '';
  private inKey = false;
  private key = ''; // the top-level key being read (cut at KEY_CHARS)
  private keyLong = false;
  private topType: string | undefined;
  private valueIsField = false;
  private occurrences = 0;
  private lastType: string | undefined;
  private emitting = false;
  private out: string[] = [];
  private readonly indexKeys: number[] = [];
  private readonly nameKeys: string[] = [];

  /** `emit`: hand out the text of the field's `occurrence`-th value (0-based) through `onText`, per piece pushed. */
  constructor(
    private readonly field: string,
    private readonly emit?: { occurrence: number; onText: (text: string) => void },
  ) {}

  push(text: string): void {
    for (let i = 0; i < text.length; i++, this.position++) this.step(text[i]!);
    if (this.out.length) {
      this.emit!.onText(this.out.join(''));
      this.out = [];
    }
  }

  end(): FieldFound {
    if (this.state === S.Number && NUMBER_ENDS.has(this.number)) this.afterValue();
    if (this.state !== S.Done) throw new JsonSyntaxError('Unexpected end of JSON input');
    if (this.topType !== 'an object') return { kind: 'not-object', got: this.topType! };
    if (this.lastType === undefined) {
      const keys = [...this.indexKeys.map(String), ...this.nameKeys].slice(0, KEY_KEEP);
      return { kind: 'missing', keys };
    }
    return { kind: 'value', type: this.lastType, occurrence: this.occurrences - 1 };
  }

  private fail(c: string): never {
    throw new JsonSyntaxError(`Unexpected ${c === '' ? 'end' : `character ${JSON.stringify(c)}`} at position ${this.position}`);
  }

  private step(c: string): void {
    switch (this.state) {
      case S.String:
        return this.stringChar(c);
      case S.Number:
        if (this.numberChar(c)) return;
        this.afterValue();
        return this.step(c);
      case S.Literal:
        if (c !== this.literal[this.literalAt]) this.fail(c);
        if (++this.literalAt === this.literal.length) this.afterValue();
        return;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') return;
    switch (this.state) {
      case S.Value:
      case S.ArrayFirstValue:
        if (this.state === S.ArrayFirstValue && c === ']') return this.close(2);
        return this.startValue(c);
      case S.ObjectFirstKey:
      case S.ObjectKey:
        if (this.state === S.ObjectFirstKey && c === '}') return this.close(1);
        if (c !== '"') this.fail(c);
        this.inKey = true;
        this.key = '';
        this.keyLong = false;
        this.state = S.String;
        return;
      case S.Colon:
        if (c !== ':') this.fail(c);
        this.state = S.Value;
        return;
      case S.ObjectNext:
        if (c === ',') this.state = S.ObjectKey;
        else if (c === '}') this.close(1);
        else this.fail(c);
        return;
      case S.ArrayNext:
        if (c === ',') this.state = S.Value;
        else if (c === ']') this.close(2);
        else this.fail(c);
        return;
      default:
        this.fail(c); // S.Done: only whitespace may follow the value
    }
  }

  private startValue(c: string): void {
    const type =
      c === '{' || c === '[' || c === 'n' ? 'object' : c === '"' ? 'string' : c === 't' || c === 'f' ? 'boolean' : c === '-' || (c >= '0' && c <= '9') ? 'number' : undefined;
    if (type === undefined) this.fail(c);
    if (this.depth === 0) this.topType = c === '{' ? 'an object' : c === '[' ? 'an array' : type;
    if (this.depth === 1 && this.stack[0] === 1 && this.valueIsField) {
      this.lastType = c === 'n' ? 'null' : type;
      this.emitting = c === '"' && this.emit !== undefined && this.emit.occurrence === this.occurrences;
      this.occurrences++;
    }
    if (c === '{' || c === '[') {
      if (this.depth === this.stack.length) {
        const grown = new Uint8Array(this.stack.length * 2);
        grown.set(this.stack);
        this.stack = grown;
      }
      this.stack[this.depth++] = c === '{' ? 1 : 2;
      this.state = c === '{' ? S.ObjectFirstKey : S.ArrayFirstValue;
    } else if (c === '"') {
      this.inKey = false;
      this.state = S.String;
    } else if (c === 't' || c === 'f' || c === 'n') {
      this.literal = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      this.literalAt = 1;
      this.state = S.Literal;
    } else {
      this.number = c === '-' ? N.Minus : c === '0' ? N.Zero : N.Int;
      this.state = S.Number;
    }
  }

  /** Whether c continues the number (false: the number ended before c, if it may end there). */
  private numberChar(c: string): boolean {
    const digit = c >= '0' && c <= '9';
    switch (this.number) {
      case N.Minus:
        if (!digit) this.fail(c);
        this.number = c === '0' ? N.Zero : N.Int;
        return true;
      case N.Zero:
      case N.Int:
        if (digit && this.number === N.Int) return true;
        if (c === '.') return ((this.number = N.Dot), true);
        if (c === 'e' || c === 'E') return ((this.number = N.E), true);
        return false;
      case N.Dot:
        if (!digit) this.fail(c);
        this.number = N.Frac;
        return true;
      case N.Frac:
        if (digit) return true;
        if (c === 'e' || c === 'E') return ((this.number = N.E), true);
        return false;
      case N.E:
        if (c === '+' || c === '-') return ((this.number = N.ESign), true);
        if (!digit) this.fail(c);
        this.number = N.Exp;
        return true;
      case N.ESign:
        if (!digit) this.fail(c);
        this.number = N.Exp;
        return true;
      case N.Exp:
        return digit;
    }
  }

  private stringChar(c: string): void {
    if (this.escape === 1) {
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (c === 'u') {
        this.escape = 2;
        this.hex = '';
        return;
      }
      if (simple[c] === undefined) this.fail(c);
      this.escape = 0;
      return this.stringText(simple[c]!);
    }
    if (this.escape >= 2) {
      if (!/[0-9a-fA-F]/.test(c)) this.fail(c);
      this.hex += c;
      if (++this.escape < 6) return;
      this.escape = 0;
      return this.stringText(String.fromCharCode(parseInt(this.hex, 16)));
    }
    if (c === '\\') {
      this.escape = 1;
      return;
    }
    if (c === '"') {
      if (this.inKey) {
        this.endKey();
        this.state = S.Colon;
      } else {
        this.emitting = false;
        this.afterValue();
      }
      return;
    }
    if (c < ' ') this.fail(c);
    this.stringText(c);
  }

  private stringText(t: string): void {
    if (this.inKey) {
      if (this.depth !== 1) return;
      if (this.key.length < Math.max(KEY_CHARS, this.field.length + 1)) this.key += t;
      else this.keyLong = true;
    } else if (this.emitting) this.out.push(t);
  }

  private endKey(): void {
    if (this.depth !== 1) return;
    this.valueIsField = !this.keyLong && this.key === this.field;
    // Object.keys order: array indices ascending, then the other keys as first inserted; each once.
    const key = this.key;
    if (!this.keyLong && ARRAY_INDEX.test(key) && Number(key) < 4294967295) {
      const n = Number(key);
      if (!this.indexKeys.includes(n)) {
        this.indexKeys.push(n);
        this.indexKeys.sort((a, b) => a - b);
        if (this.indexKeys.length > KEY_KEEP) this.indexKeys.pop();
      }
    } else if (this.nameKeys.length < KEY_KEEP && !this.nameKeys.includes(key)) this.nameKeys.push(key);
  }

  private close(kind: 1 | 2): void {
    if (this.stack[this.depth - 1] !== kind) this.fail(kind === 1 ? '}' : ']');
    this.depth--;
    this.afterValue();
  }

  private afterValue(): void {
    if (this.depth === 0) this.state = S.Done;
    else this.state = this.stack[this.depth - 1] === 1 ? S.ObjectNext : S.ArrayNext;
  }
}
