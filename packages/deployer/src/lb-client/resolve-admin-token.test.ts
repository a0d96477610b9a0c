import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeployError } from './deploy-error';
import { composeTokenFile, resolveAdminToken, type TokenFileReader } from './resolve-admin-token';

function lab(): { dir: string; envFile: string; tokenFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployer-token-'));
  return { dir, envFile: path.join(dir, '.env'), tokenFile: composeTokenFile(dir, 'zdl') };
}

function writeToken(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o600 });
}

function errorOf(fn: () => unknown): DeployError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DeployError) return err;
    throw err;
  }
  throw new Error('expected a DeployError');
}

describe('resolveAdminToken', () => {
  it('the compose token file sits in a folder per project', () => {
    expect(composeTokenFile('/repo', 'zdl')).toBe('/repo/.lab/compose/zdl/admin-token');
    expect(composeTokenFile('/repo', 'zdl-e2e-1')).not.toBe(composeTokenFile('/repo', 'zdl-e2e-2'));
  });

  it('takes the first source that has a token: --token, env LB_ADMIN_TOKEN, the env file, the token file', () => {
    const { envFile, tokenFile } = lab();
    fs.writeFileSync(envFile, 'NODE_IMAGE=x\nLB_ADMIN_TOKEN="from-env-file"\n');
    writeToken(tokenFile, 'from-token-file\n');
    const all = { flag: 'from-flag', env: 'from-env', envFile, tokenFile };
    expect(resolveAdminToken(all)).toEqual({ token: 'from-flag', source: '--token' });
    expect(resolveAdminToken({ ...all, flag: undefined })).toEqual({ token: 'from-env', source: 'env LB_ADMIN_TOKEN' });
    expect(resolveAdminToken({ ...all, flag: undefined, env: '' })).toEqual({ token: 'from-env-file', source: `LB_ADMIN_TOKEN in ${envFile}` });
    fs.writeFileSync(envFile, 'NODE_IMAGE=x\n');
    expect(resolveAdminToken({ ...all, flag: undefined, env: undefined })).toEqual({ token: 'from-token-file', source: tokenFile });
  });

  it('reads the token file when there is no env file at all (a plain docker compose up)', () => {
    const { envFile, tokenFile } = lab();
    writeToken(tokenFile, 'generated\n');
    expect(resolveAdminToken({ envFile, tokenFile }).token).toBe('generated');
  });

  it('none found: a precondition error naming every place it looked, in order', () => {
    const { envFile, tokenFile } = lab();
    const err = errorOf(() => resolveAdminToken({ envFile, tokenFile }));
    expect(err.code).toBe('DEPLOY_ERR_PRECONDITION');
    expect(err.message).toBe(
      [
        'no admin token found; looked at:',
        '  - --token (not given)',
        '  - env LB_ADMIN_TOKEN (not set)',
        `  - ${envFile} (no LB_ADMIN_TOKEN)`,
        `  - ${tokenFile} (does not exist: the balancer writes it at its first start; is the lab up?)`,
      ].join('\n'),
    );
    writeToken(tokenFile, '\n');
    expect(errorOf(() => resolveAdminToken({ envFile, tokenFile })).message).toContain(`${tokenFile} (empty)`);
  });

  it('an unreadable token file is named with the reason, not reported as missing', () => {
    const reader: TokenFileReader = {
      readEnvFile: () => ({}),
      readFile: () => {
        throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      },
    };
    const err = errorOf(() => resolveAdminToken({ tokenFile: '/repo/.lab/compose/zdl/admin-token' }, reader));
    expect(err.message).toBe('cannot read the admin token file /repo/.lab/compose/zdl/admin-token (EACCES)');
  });
});
