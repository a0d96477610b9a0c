import { LabSwitchError, parseLabSwitches } from './lab-switches';

describe('lab switches (LB_LAB_DISABLE)', () => {
  it('is empty by default: every mechanism on', () => {
    expect(parseLabSwitches(undefined).size).toBe(0);
    expect(parseLabSwitches('').size).toBe(0);
  });

  it('reads a comma-separated list', () => {
    expect([...parseLabSwitches(' retry, health-gate ')].sort()).toEqual(['health-gate', 'retry']);
  });

  it('rejects an unknown name, naming it and the known ones', () => {
    expect(() => parseLabSwitches('retry,drain')).toThrow(LabSwitchError);
    expect(() => parseLabSwitches('retry,drain')).toThrow('LB_LAB_DISABLE: unknown lab switch "drain" (known: retry, health-gate)');
  });
});
