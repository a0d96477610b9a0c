import fs from 'node:fs';
import path from 'node:path';
import { DeployError } from './deploy-error';
import { readEnvFile } from '../runtime/env-file';

/** Where the balancer of a compose project writes its generated admin token, relative to the compose file's folder. */
export function composeTokenFile(composeDir: string, project: string): string {
  return path.join(composeDir, '.lab', 'compose', project, 'admin-token');
}

export interface AdminTokenSources {
  /** --token */
  flag?: string;
  /** the environment's LB_ADMIN_TOKEN */
  env?: string;
  /** an env file that may set LB_ADMIN_TOKEN (compose's .env or --env-file) */
  envFile?: string;
  /** the file the balancer generated its token into (see composeTokenFile) */
  tokenFile?: string;
}

export interface ResolvedAdminToken {
  token: string;
  /** Where it came from, for messages (never the token itself). */
  source: string;
}

/** The file reads this needs; injected so tests can fake an unreadable file. */
export interface TokenFileReader {
  readEnvFile(file: string): Record<string, string | undefined>;
  readFile(file: string): string;
}

const realReader: TokenFileReader = { readEnvFile, readFile: (f) => fs.readFileSync(f, 'utf8') };

/**
 * The admin token, from the first source that has one: --token, env LB_ADMIN_TOKEN, LB_ADMIN_TOKEN
 * in the env file, then the token file the balancer generated at its first start. None → an error
 * naming every place looked at, so nothing is sent to the balancer without a token.
 */
export function resolveAdminToken(sources: AdminTokenSources, reader: TokenFileReader = realReader): ResolvedAdminToken {
  if (sources.flag) return { token: sources.flag, source: '--token' };
  if (sources.env) return { token: sources.env, source: 'env LB_ADMIN_TOKEN' };
  const looked = ['--token (not given)', 'env LB_ADMIN_TOKEN (not set)'];
  if (sources.envFile) {
    const fromEnvFile = reader.readEnvFile(sources.envFile).LB_ADMIN_TOKEN;
    if (fromEnvFile) return { token: fromEnvFile, source: `LB_ADMIN_TOKEN in ${sources.envFile}` };
    looked.push(`${sources.envFile} (no LB_ADMIN_TOKEN)`);
  }
  if (sources.tokenFile) {
    let text: string | undefined;
    try {
      text = reader.readFile(sources.tokenFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new DeployError('DEPLOY_ERR_PRECONDITION', `cannot read the admin token file ${sources.tokenFile} (${code ?? String(err)})`, { cause: err });
      }
      looked.push(`${sources.tokenFile} (does not exist: the balancer writes it at its first start; is the lab up?)`);
    }
    if (text !== undefined) {
      const token = text.trim();
      if (token) return { token, source: sources.tokenFile };
      looked.push(`${sources.tokenFile} (empty)`);
    }
  }
  throw new DeployError('DEPLOY_ERR_PRECONDITION', `no admin token found; looked at:\n  - ${looked.join('\n  - ')}`);
}
