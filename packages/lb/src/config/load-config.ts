import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from './config-error';
import type { LbConfig } from './lb-config';
import { validateConfig } from './validate-config';

type Env = Record<string, string | undefined>;

/**
 * Reads the YAML file (if any), applies the environment overrides compose needs
 * (LB_HOST, LB_PORT, LB_UPSTREAMS as a comma-separated list), and validates the result.
 */
export function loadConfig(path: string | undefined, env: Env = process.env, readFile = (p: string) => fs.readFileSync(p, 'utf8')): LbConfig {
  const source = path ?? '(defaults)';
  let doc: Record<string, unknown> = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(err)})`;
      throw new ConfigError(source, [`${path}: ${why}`], { cause: err });
    }
    doc = parseYaml(text, source);
  }
  return validateConfig(applyEnv(doc, env, source), source);
}

export function parseYaml(text: string, source: string): Record<string, unknown> {
  const parsed = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (parsed.errors.length > 0) {
    throw new ConfigError(
      source,
      parsed.errors.map((e) => `YAML ${e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''}: ${e.message.split('\n')[0]}`),
    );
  }
  const value: unknown = parsed.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(source, ['(root): expected a mapping of settings']);
  return value as Record<string, unknown>;
}

function applyEnv(doc: Record<string, unknown>, env: Env, source: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc };
  const problems: string[] = [];
  const listen = { ...(typeof out.listen === 'object' && out.listen !== null ? (out.listen as object) : {}) } as Record<string, unknown>;
  if (env.LB_HOST) listen.host = env.LB_HOST;
  if (env.LB_PORT) {
    const port = Number(env.LB_PORT);
    if (!Number.isInteger(port)) problems.push(`env LB_PORT: expected an integer, got "${env.LB_PORT}"`);
    listen.port = port;
  }
  if (env.LB_HOST || env.LB_PORT) out.listen = listen;
  const admin = { ...(typeof out.admin === 'object' && out.admin !== null ? (out.admin as object) : {}) } as Record<string, unknown>;
  if (env.LB_ADMIN_HOST) admin.host = env.LB_ADMIN_HOST;
  if (env.LB_ADMIN_PORT) {
    const port = Number(env.LB_ADMIN_PORT);
    if (!Number.isInteger(port)) problems.push(`env LB_ADMIN_PORT: expected an integer, got "${env.LB_ADMIN_PORT}"`);
    admin.port = port;
  }
  if (env.LB_ADMIN_HOST || env.LB_ADMIN_PORT) out.admin = admin;
  // The token never lives in the YAML file (it would end up in the repo).
  if ('adminToken' in out) problems.push('adminToken: unknown key (the admin token comes from env LB_ADMIN_TOKEN)');
  if (env.LB_ADMIN_TOKEN) out.adminToken = env.LB_ADMIN_TOKEN;
  if (env.LB_UPSTREAMS) out.upstreams = env.LB_UPSTREAMS.split(',').map((s) => s.trim()).filter(Boolean);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out;
}
