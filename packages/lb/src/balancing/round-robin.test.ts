import { RoundRobin } from './round-robin';

describe('RoundRobin', () => {
  it('cycles through the items in order', () => {
    const rr = new RoundRobin<string>();
    const items = ['a', 'b', 'c'];
    expect(Array.from({ length: 7 }, () => rr.next(items))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('returns undefined for an empty list', () => {
    expect(new RoundRobin<string>().next([])).toBeUndefined();
  });

  it('skips items already tried and gives up when all were', () => {
    const rr = new RoundRobin<string>();
    expect(rr.next(['a', 'b'], new Set(['a']))).toBe('b');
    expect(rr.next(['a', 'b'], new Set(['a', 'b']))).toBeUndefined();
  });

  it('stays fair when the list changes', () => {
    const rr = new RoundRobin<string>();
    rr.next(['a', 'b']);
    const picks = Array.from({ length: 4 }, () => rr.next(['b']));
    expect(picks).toEqual(['b', 'b', 'b', 'b']);
  });
});
