import { PendingList, type PendingRequest } from './pending-list';

const req = (): PendingRequest => ({ abortAsDead: () => {} });

describe('PendingList', () => {
  it('adds, deletes from any position, and iterates what is left', () => {
    const list = new PendingList();
    const [a, b, c] = [req(), req(), req()];
    list.add(a);
    list.add(b);
    list.add(c);
    list.add(b);
    expect(list.size).toBe(3);
    expect(list.delete(b)).toBe(true);
    expect(list.delete(b)).toBe(false);
    expect([...list]).toEqual([c, a]);
    list.delete(c);
    list.delete(a);
    expect([...list]).toEqual([]);
    expect(list.size).toBe(0);
  });

  it('a request belongs to one list at a time', () => {
    const one = new PendingList();
    const two = new PendingList();
    const a = req();
    one.add(a);
    expect(two.delete(a)).toBe(false);
    one.delete(a);
    two.add(a);
    expect([...two]).toEqual([a]);
  });
});
