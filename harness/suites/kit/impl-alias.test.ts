import { describe, expect, it } from 'vitest';
import { NotImplemented } from '@impl/util/not-implemented.ts';

describe('kit', () => {
  it('resolves @impl to the selected implementation', () => {
    const err = new NotImplemented('1', 'nothing');
    expect(err.message).toContain('stage 1');
    expect(err.stage).toBe('1');
  });
});
