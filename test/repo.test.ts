// The repository stands alone: no file points at design notes or folders outside it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the repository', () => {
  it('refers to no design notes or folders outside it (what a reader needs is in docs/)', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
      .split('\0')
      .filter((f) => /\.(ts|js|md|ya?ml|json|Dockerfile|sh)$|Dockerfile$|^\.ci\//.test(f));
    // Spelled in two pieces so that this file does not match itself.
    const design = 'DESIGN' + '.md';
    const shared = '../' + 'shared/';
    const hits = files
      .filter((f) => f !== 'test/repo.test.ts')
      .filter((f) => {
        const text = readFileSync(f, 'utf8');
        return text.includes(design) || text.includes(shared);
      });
    expect(hits).toEqual([]);
  });
});
