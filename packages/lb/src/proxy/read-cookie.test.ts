import { readCookie } from './read-cookie';

describe('readCookie', () => {
  it.each([
    [undefined, 'a', undefined],
    ['a=1', 'a', '1'],
    ['x=2; user_id=alice; y=3', 'user_id', 'alice'],
    ['user_idx=bob', 'user_id', undefined],
    ['a=hello%20world', 'a', 'hello world'],
    ['a=', 'a', undefined],
  ])('reads %s / %s', (header, name, expected) => {
    expect(readCookie(header, name)).toBe(expected);
  });
});
