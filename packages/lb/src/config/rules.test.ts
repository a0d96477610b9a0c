import { formatIssues, groupName, splitEntries, upstreamName, weight } from './rules';

const problems = (schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, v: unknown) => {
  const r = schema.safeParse(v);
  return r.success ? [] : formatIssues(r.error as never);
};

describe('the shared rules (YAML and admin API)', () => {
  it('validates a split: non-empty, distinct groups, integer weights, some traffic', () => {
    expect(problems(splitEntries, [{ group: 'a', weight: 1 }])).toEqual([]);
    expect(problems(splitEntries, [])).toHaveLength(1);
    expect(problems(splitEntries, [{ group: 'a', weight: -1 }, { group: 'a', weight: 1 }])).toEqual(['[0].weight: expected an integer from 0 to 1000000, got -1', '[1].group: "a" appears twice']);
    expect(problems(splitEntries, [{ group: 'a', weight: 0 }])).toEqual(['(root): at least one weight must be above 0']);
    expect(problems(splitEntries, [{ group: 'a', weight: 1, extra: 1 }])).toEqual(['[0].extra: unknown field (expected group, weight)']);
  });

  it('has one rule each for names, groups and weights', () => {
    expect(problems(upstreamName, 'client-1:8081')).toEqual([]);
    expect(problems(upstreamName, '[::1]:8081')).toEqual([]);
    expect(problems(upstreamName, 'a b')).toHaveLength(1);
    expect(problems(groupName, 'v1.2.3+build')).toEqual([]);
    expect(problems(groupName, 'x'.repeat(65))).toEqual(['(root): must be at most 64 characters']);
    expect(problems(weight, 1_000_001)).toEqual(['(root): expected an integer from 0 to 1000000, got 1000001']);
  });
});
