import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A token file that cannot be used; the message names the file and what to do. */
export class AdminTokenFileError extends Error {
  readonly code = 'LB_ERR_ADMIN_TOKEN_FILE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminTokenFileError';
  }
}

/** The file system calls this needs (injected so tests can fake a race or a read-only folder). */
export interface TokenFs {
  readFileSync(file: string, encoding: 'utf8'): string;
  writeFileSync(file: string, data: string, options: { mode: number; flag: string }): void;
  linkSync(existing: string, link: string): void;
  unlinkSync(file: string): void;
}

export interface AdminTokenFromFile {
  token: string;
  /** true when this start generated the file (first start, or after it was deleted to rotate). */
  created: boolean;
}

/** 32 random bytes: as strong as a token gets, and safe in a header and a shell. */
export const generateAdminToken = (): string => crypto.randomBytes(32).toString('base64url');

/**
 * The admin token from `file`, or a new random one written there when the file does not exist
 * (the way Jupyter hands out a token: nothing to configure, and whoever can read the file, i.e.
 * the one who started the lab, can use the admin API). Deleting the file and restarting rotates it.
 *
 * The file is created atomically with mode 0600: the token goes into a temporary file first, which
 * is then hard-linked to its name. link() fails if the name exists, so two processes starting at
 * once never overwrite each other's token: the loser reads the winner's file.
 */
export function loadOrCreateAdminToken(file: string, fsi: TokenFs = fs, generate: () => string = generateAdminToken): AdminTokenFromFile {
  const existing = readToken(file, fsi);
  if (existing !== undefined) return { token: existing, created: false };
  const token = generate();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    fsi.writeFileSync(tmp, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new AdminTokenFileError(`admin token file ${file}: cannot create it in ${path.dirname(file)} (${errCode(err)})`, { cause: err });
  }
  try {
    fsi.linkSync(tmp, file);
    return { token, created: true };
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw new AdminTokenFileError(`admin token file ${file}: cannot create it (${errCode(err)})`, { cause: err });
    // Someone else created it in the meantime: theirs is the token.
    const theirs = readToken(file, fsi);
    if (theirs === undefined) throw new AdminTokenFileError(`admin token file ${file}: vanished while it was being created`, { cause: err });
    return { token: theirs, created: false };
  } finally {
    try {
      fsi.unlinkSync(tmp);
    } catch {
      // Nothing to clean up if it is already gone.
    }
  }
}

/** The token in the file, undefined if there is no file; an unusable file is an error, never "no token". */
function readToken(file: string, fsi: TokenFs): string | undefined {
  let text: string;
  try {
    text = fsi.readFileSync(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    const why = errCode(err) === 'EISDIR' ? 'is a directory' : `cannot read it (${errCode(err)})`;
    throw new AdminTokenFileError(`admin token file ${file}: ${why}`, { cause: err });
  }
  const token = text.trim();
  if (token === '') throw new AdminTokenFileError(`admin token file ${file}: is empty (delete it and a new token is generated at the next start)`);
  if (/\s/.test(token)) throw new AdminTokenFileError(`admin token file ${file}: expected one token on one line, found whitespace inside it`);
  return token;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}
