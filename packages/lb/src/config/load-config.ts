import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from './config-error';
import type { LbConfig } from './lb-config';
import { validateConfig } from './validate-config';

type Env = Record<string, string | undefined>;

/**
 * Reads the YAML file (if any), applies the environment overrides compose needs
 * (LB_HOST, LB_PORT, LB_WORKERS, LB_UPSTREAMS as a comma-separated list, LB_ADMIN_* incl. LB_ADMIN_TOKEN_FILE), and validates the result.
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
  // Host and port of a section from two variables, e.g. LB_HOST/LB_PORT → listen.host/listen.port.
  const hostPort = (section: 'listen' | 'admin', hostVar: string, portVar: string) => {
    const host = env[hostVar];
    const rawPort = env[portVar];
    if (!host && !rawPort) return;
    const current = out[section];
    const next = { ...(typeof current === 'object' && current !== null ? current : {}) } as Record<string, unknown>;
    if (host) next.host = host;
    if (rawPort) {
      next.port = Number(rawPort);
      if (!Number.isInteger(next.port)) problems.push(`env ${portVar}: expected an integer, got "${rawPort}"`);
    }
    out[section] = next;
  };
  hostPort('listen', 'LB_HOST', 'LB_PORT');
  hostPort('admin', 'LB_ADMIN_HOST', 'LB_ADMIN_PORT');
  // The token never lives in the YAML file (it would end up in the repo).
  if ('adminToken' in out) problems.push('adminToken: unknown key (the admin token comes from env LB_ADMIN_TOKEN)');
  if (env.LB_ADMIN_TOKEN) out.adminToken = env.LB_ADMIN_TOKEN;
  if (env.LB_ADMIN_TOKEN_FILE) {
    const admin = out.admin;
    out.admin = { ...(typeof admin === 'object' && admin !== null ? admin : {}), tokenFile: env.LB_ADMIN_TOKEN_FILE };
  }
  if (env.LB_WORKERS === 'auto' || /^\d+$/.test(env.LB_WORKERS ?? '')) out.workers = env.LB_WORKERS === 'auto' ? 'auto' : Number(env.LB_WORKERS);
  else if (env.LB_WORKERS) problems.push(`env LB_WORKERS: expected a number of processes or "auto", got "${env.LB_WORKERS}"`);
  if (env.LB_UPSTREAMS) out.upstreams = env.LB_UPSTREAMS.split(',').map((s) => s.trim()).filter(Boolean);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out;
}
