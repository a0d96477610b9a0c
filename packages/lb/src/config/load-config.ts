import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from './config-error';
import type { LbConfig } from './lb-config';
import { validateConfig } from './validate-config';

type Env = Record<string, string | undefined>;

/**
 * Reads the YAML file (if any), applies the environment overrides compose needs
 * (LB_HOST, LB_PORT, LB_WORKERS, LB_UPSTREAMS as a comma-separated list, LB_ADMIN_* incl. LB_ADMIN_TOKEN_FILE, LB_PROXY_ENGINE), and validates the result.
 */
export function loadConfig(path: string | undefined, env: Env = process.env, readFile: (p: string) => Buffer | string = (p) => fs.readFileSync(p)): LbConfig {
  const source = path ?? '(defaults)';
  let doc: Record<string, unknown> = {};
  if (path !== undefined) {
    let raw: Buffer | string;
    try {
      raw = readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(err)})`;
      throw new ConfigError(source, [`${path}: ${why}`], { cause: err });
    }
    const text = decodeUtf8(raw, source);
    // An empty file is almost always a mistake (a wrong mount, a truncated write): say so rather
    // than start silently with every default.
    if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text)) throw new ConfigError(source, [`${path}: the file is empty (expected settings such as "upstreams:"; omit --config to use the defaults)`]);
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
  let value: unknown;
  try {
    // The yaml library refuses documents whose aliases expand beyond maxAliasCount ("billion laughs").
    value = parsed.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const why = /alias/i.test((err as Error).message) ? 'too many alias expansions (a document that references itself exponentially is refused)' : (err as Error).message;
    throw new ConfigError(source, [`YAML: ${why}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(source, ['(root): expected a mapping of settings']);
  return value as Record<string, unknown>;
}

/** Bytes that are not UTF-8 would turn into U+FFFD and end up in names and headers: refuse them with their offset. */
function decodeUtf8(raw: Buffer | string, source: string): string {
  if (typeof raw === 'string') return raw;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    const at = firstInvalidUtf8(raw);
    throw new ConfigError(source, [`${source}: not valid UTF-8 (first bad byte at offset ${at})`]);
  }
}

function firstInvalidUtf8(buf: Buffer): number {
  let lo = 0;
  let hi = buf.length;
  // The longest valid prefix, by bisection (a decode of a prefix may fail only on a cut sequence at its end).
  const ok = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
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
  if ('registrationToken' in out) problems.push('registrationToken: unknown key (the registration token comes from env LB_REGISTRATION_TOKEN or admin.registrationTokenFile)');
  if (env.LB_REGISTRATION_TOKEN) out.registrationToken = env.LB_REGISTRATION_TOKEN;
  if (env.LB_ADMIN_TOKEN_FILE) {
    const admin = out.admin;
    out.admin = { ...(typeof admin === 'object' && admin !== null ? admin : {}), tokenFile: env.LB_ADMIN_TOKEN_FILE };
  }
  if (env.LB_WORKERS === 'auto' || /^\d+$/.test(env.LB_WORKERS ?? '')) out.workers = env.LB_WORKERS === 'auto' ? 'auto' : Number(env.LB_WORKERS);
  else if (env.LB_WORKERS) problems.push(`env LB_WORKERS: expected a number of processes or "auto", got "${env.LB_WORKERS}"`);
  if (env.LB_PROXY_ENGINE) {
    const proxy = out.proxy;
    out.proxy = { ...(typeof proxy === 'object' && proxy !== null ? proxy : {}), engine: env.LB_PROXY_ENGINE };
  }
  if (env.LB_UPSTREAMS) out.upstreams = env.LB_UPSTREAMS.split(',').map((s) => s.trim()).filter(Boolean);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out;
}
