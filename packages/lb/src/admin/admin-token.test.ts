import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdminTokenFileError, loadOrCreateAdminToken, type TokenFs } from './admin-token';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lb-token-'));

describe('loadOrCreateAdminToken (real files)', () => {
  it('generates a random token at first start, mode 0600, and reads the same one afterwards', () => {
    const file = path.join(tmpDir(), 'admin-token');
    const first = loadOrCreateAdminToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(first.token + '\n');
    const again = loadOrCreateAdminToken(file);
    expect(again).toEqual({ token: first.token, created: false });
    // No temporary file is left beside it.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['admin-token']);
  });

  it('rotates: a deleted file gets a new, different token', () => {
    const file = path.join(tmpDir(), 'admin-token');
    const a = loadOrCreateAdminToken(file).token;
    fs.unlinkSync(file);
    const b = loadOrCreateAdminToken(file);
    expect(b.created).toBe(true);
    expect(b.token).not.toBe(a);
  });

  it('uses a token an operator wrote into the file (trailing newline ignored)', () => {
    const file = path.join(tmpDir(), 'admin-token');
    fs.writeFileSync(file, 'my-own-token\n');
    expect(loadOrCreateAdminToken(file)).toEqual({ token: 'my-own-token', created: false });
  });

  it('refuses an empty file or one with whitespace inside, naming the file', () => {
    const file = path.join(tmpDir(), 'admin-token');
    fs.writeFileSync(file, '\n');
    expect(() => loadOrCreateAdminToken(file)).toThrow(`admin token file ${file}: is empty`);
    fs.writeFileSync(file, 'two words\n');
    expect(() => loadOrCreateAdminToken(file)).toThrow(/whitespace inside/);
  });

  it('names the folder when the file cannot be created there', () => {
    const file = path.join(tmpDir(), 'missing-folder', 'admin-token');
    const err = catchError(() => loadOrCreateAdminToken(file));
    expect(err).toBeInstanceOf(AdminTokenFileError);
    expect(err.message).toContain(`cannot create it in ${path.dirname(file)} (ENOENT)`);
  });

  it('a directory in its place is an error, not "no token"', () => {
    const file = tmpDir();
    expect(() => loadOrCreateAdminToken(file)).toThrow(`admin token file ${file}: is a directory`);
  });

  it('two starts at once: the one that loses the race takes the winner token, never overwrites it', () => {
    const file = path.join(tmpDir(), 'admin-token');
    // Another process creates the file between our read (nothing there) and our link.
    const racing: TokenFs = {
      readFileSync: (f, e) => fs.readFileSync(f, e),
      writeFileSync: (f, d, o) => fs.writeFileSync(f, d, o),
      unlinkSync: (f) => fs.unlinkSync(f),
      linkSync: (a, b) => {
        fs.writeFileSync(b, 'winner-token\n', { mode: 0o600 });
        fs.linkSync(a, b);
      },
    };
    expect(loadOrCreateAdminToken(file, racing, () => 'loser-token')).toEqual({ token: 'winner-token', created: false });
    expect(fs.readFileSync(file, 'utf8')).toBe('winner-token\n');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['admin-token']);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
