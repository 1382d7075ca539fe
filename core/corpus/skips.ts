// The record of bad input skipped on request (`skipBad`): counts by error code and the first few examples.
// Mergeable so that shard results combine into exactly the single scan's record.
import { compareCodeUnits } from './source.js';

/** One skipped piece of input: a jsonl line, or the rest of a file that could not be decompressed. */
export interface SkipRecord {
  code: string;
  file: string;
  /**
   * Offset of the line (or of the failure) in the file's decompressed bytes. No line number: a scan of a
   * byte range does not know it, and a merged record must equal the single scan's. Errors that stop a
   * scan do name the line when it is known.
   */
  byteOffset: number;
  message: string;
}

export interface SkipLogJson {
  count: number;
  byCode: Record<string, number>;
  /** The first MAX_EXAMPLES records in (file, byteOffset, code) order. */
  examples: SkipRecord[];
}

const MAX_EXAMPLES = 10;

/** Why: skipping must never be silent; the result says how much was skipped and shows where. */
export class SkipLog {
  count = 0;
  byCode: Record<string, number> = {};
  examples: SkipRecord[] = [];

  record(r: SkipRecord): void {
    this.count++;
    this.byCode[r.code] = (this.byCode[r.code] ?? 0) + 1;
    this.examples.push(r);
    this.trim();
  }

  merge(other: SkipLog): void {
    this.count += other.count;
    for (const [code, n] of Object.entries(other.byCode)) this.byCode[code] = (this.byCode[code] ?? 0) + n;
    this.examples.push(...other.examples);
    this.trim();
  }

  toJSON(): SkipLogJson {
    const byCode: Record<string, number> = {};
    for (const code of Object.keys(this.byCode).sort(compareCodeUnits)) byCode[code] = this.byCode[code]!;
    return { count: this.count, byCode, examples: this.examples.map((e) => ({ ...e })) };
  }

  static fromJSON(json: SkipLogJson): SkipLog {
    const log = new SkipLog();
    log.count = json.count;
    log.byCode = { ...json.byCode };
    log.examples = json.examples.map((e) => ({ ...e }));
    return log;
  }

  private trim(): void {
    this.examples.sort((a, b) => compareCodeUnits(a.file, b.file) || a.byteOffset - b.byteOffset || compareCodeUnits(a.code, b.code));
    if (this.examples.length > MAX_EXAMPLES) this.examples.length = MAX_EXAMPLES;
  }
}
