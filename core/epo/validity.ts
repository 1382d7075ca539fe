// The one validity rule for candidate prompts: banned text (case-insensitive, in the decoded prompt) and,
// optionally, a retokenisation check (decode then encode must give back the same ids). Invalid prompts
// are recorded in the history but never selected, never restart the population, never reach a frontier.
import type { Tokenizer } from '../engine.js';

export function validityMask(tokenizer: Tokenizer, rule: { bannedText?: string; retokenize?: boolean }): (ids: number[]) => boolean {
  const banned = rule.bannedText?.toLowerCase();
  if (banned === undefined && !rule.retokenize) return () => true;
  return (ids) => {
    const text = tokenizer.decode(ids);
    if (banned !== undefined && text.toLowerCase().includes(banned)) return false;
    if (rule.retokenize) {
      const again = tokenizer.encode(text);
      if (again.length !== ids.length || again.some((id, i) => id !== ids[i])) return false;
    }
    return true;
  };
}
