/**
 * The checks GenericTest runs on a client's key range after each round (harness/cluster/generic-test.ts):
 * every append of the round present once and in order, and nothing beyond them (a key an earlier round
 * deleted must stay deleted). Each must pass on the right values and fail on each kind of wrong ones.
 */
import { describe, expect, it } from 'vitest';
import { checkClientAppends, checkNothingResurrected } from '../../cluster/generic-test.ts';

/** What client 3's first `count` appends read back as, one value per key. */
const appends = (count: number) => Array.from({ length: count }, (_, j) => `x 3 ${j} y`);

describe('kit: GenericTest checks of a client key range', () => {
  it('accepts exactly the round appends, in order', () => {
    const values = appends(4);
    expect(() => checkClientAppends(3, values.join(''), 4)).not.toThrow();
    expect(() => checkNothingResurrected(3, values, 4)).not.toThrow();
    expect(() => checkNothingResurrected(3, [], 0)).not.toThrow();
  });

  it('rejects a missing, a duplicated or a reordered append', () => {
    const values = appends(4);
    expect(() => checkClientAppends(3, values.slice(0, 3).join(''), 4)).toThrow(/missing element "x 3 3 y"/);
    expect(() => checkClientAppends(3, [...values, 'x 3 1 y'].join(''), 4)).toThrow(/duplicate element "x 3 1 y"/);
    expect(() => checkClientAppends(3, [values[1], values[0], values[2], values[3]].join(''), 4)).toThrow(/wrong order/);
  });

  it('rejects a value on a key beyond the round appends (deleted by an earlier round), naming it', () => {
    const values = [...appends(4), 'x 3 7 y'];
    // The append-order check alone cannot see it: the extra value is not one it looks for.
    expect(() => checkClientAppends(3, values.join(''), 4)).not.toThrow();
    expect(() => checkNothingResurrected(3, values, 4)).toThrow(/1 value\(s\) beyond this round's 4 appends.*"x 3 7 y"/);
  });
});
