import os from 'node:os';
import { ConfigError } from './config-error';
import { DEFAULT_CONFIG, type LbConfig, type UpstreamConfig } from './lb-config';
import { parseUpstreamUrl } from './parse-upstream-url';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys each section accepts; anything else is reported as unknown (a typo would otherwise be ignored). */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': ['listen', 'workers', 'upstreams', 'healthCheck', 'admin', 'routing', 'proxy'],
  routing: ['userKeyHeader', 'userKeyCookie', 'forceGroupHeader', 'forceGroupCookie'],
  admin: ['enabled', 'host', 'port', 'tokenFile'],
  listen: ['host', 'port'],
  healthCheck: ['path', 'intervalMs', 'startIntervalMs', 'timeoutMs', 'fall', 'rise'],
  proxy: ['connectTimeoutMs', 'upstreamTimeoutMs', 'idleSocketMs', 'retryBodyLimitBytes', 'longLivedGraceMs', 'maxUpgraded'],
  upstream: ['url', 'name', 'group', 'weight'],
};

/**
 * Validates a parsed configuration document against the one schema, filling in defaults.
 * Collects every problem (with its path) before failing, so a user fixes a file in one pass.
 */
export function validateConfig(raw: unknown, source: string): LbConfig {
  const problems: string[] = [];
  const input: Obj = raw === null || raw === undefined ? {} : isObj(raw) ? raw : (problems.push('(root): expected a mapping'), {});
  // loadConfig passes the admin token (from the environment) beside the file's settings.
  const { adminToken, ...doc } = input;

  const section = (key: keyof LbConfig): Obj => {
    const v = doc[key];
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      problems.push(`${key}: expected a mapping`);
      return {};
    }
    unknownKeys(v, key, KNOWN_KEYS[key], problems);
    return v;
  };
  unknownKeys(doc, '', KNOWN_KEYS[''], problems);

  const int = (obj: Obj, path: string, key: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = obj[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${path}.${key}: expected an integer from ${min} to ${max}, got ${show(v)}`);
      return def;
    }
    return v;
  };
  const str = (obj: Obj, path: string, key: string, def: string, check?: (s: string) => string | undefined): string => {
    const v = obj[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || v === '') {
      problems.push(`${path}.${key}: expected a non-empty string, got ${show(v)}`);
      return def;
    }
    const problem = check?.(v);
    if (problem) problems.push(`${path}.${key}: ${problem}`);
    return v;
  };

  const d = DEFAULT_CONFIG;
  const listen = section('listen');
  const hc = section('healthCheck');
  const px = section('proxy');
  const ad = section('admin');
  const rt = section('routing');
  const lower = (v: string) => v.toLowerCase();
  if (ad.enabled !== undefined && typeof ad.enabled !== 'boolean') problems.push(`admin.enabled: expected true or false, got ${show(ad.enabled)}`);
  const token = typeof adminToken === 'string' && adminToken !== '' ? adminToken : undefined;
  const config: LbConfig = {
    listen: { host: str(listen, 'listen', 'host', d.listen.host), port: int(listen, 'listen', 'port', d.listen.port, 0, 65535) },
    workers: workers(doc.workers, d.workers, problems),
    upstreams: upstreams(doc.upstreams, problems) ?? d.upstreams,
    healthCheck: {
      path: str(hc, 'healthCheck', 'path', d.healthCheck.path, (s) => (s.startsWith('/') ? undefined : `must start with "/", got "${s}"`)),
      intervalMs: int(hc, 'healthCheck', 'intervalMs', d.healthCheck.intervalMs, 10, 3_600_000),
      startIntervalMs: int(hc, 'healthCheck', 'startIntervalMs', d.healthCheck.startIntervalMs, 10, 3_600_000),
      timeoutMs: int(hc, 'healthCheck', 'timeoutMs', d.healthCheck.timeoutMs, 1, 3_600_000),
      fall: int(hc, 'healthCheck', 'fall', d.healthCheck.fall, 1, 100),
      rise: int(hc, 'healthCheck', 'rise', d.healthCheck.rise, 1, 100),
    },
    admin: {
      enabled: typeof ad.enabled === 'boolean' ? ad.enabled : d.admin.enabled,
      host: str(ad, 'admin', 'host', d.admin.host),
      port: int(ad, 'admin', 'port', d.admin.port, 0, 65535),
      ...(token ? { token } : {}),
      ...(ad.tokenFile !== undefined ? { tokenFile: str(ad, 'admin', 'tokenFile', '') } : {}),
    },
    routing: {
      userKeyHeader: lower(str(rt, 'routing', 'userKeyHeader', d.routing.userKeyHeader)),
      userKeyCookie: str(rt, 'routing', 'userKeyCookie', d.routing.userKeyCookie),
      forceGroupHeader: lower(str(rt, 'routing', 'forceGroupHeader', d.routing.forceGroupHeader)),
      forceGroupCookie: str(rt, 'routing', 'forceGroupCookie', d.routing.forceGroupCookie),
    },
    proxy: {
      connectTimeoutMs: int(px, 'proxy', 'connectTimeoutMs', d.proxy.connectTimeoutMs, 1, 600_000),
      upstreamTimeoutMs: int(px, 'proxy', 'upstreamTimeoutMs', d.proxy.upstreamTimeoutMs, 1, 3_600_000),
      idleSocketMs: int(px, 'proxy', 'idleSocketMs', d.proxy.idleSocketMs, 100, 3_600_000),
      retryBodyLimitBytes: int(px, 'proxy', 'retryBodyLimitBytes', d.proxy.retryBodyLimitBytes, 0, 1024 ** 3),
      longLivedGraceMs: int(px, 'proxy', 'longLivedGraceMs', d.proxy.longLivedGraceMs, 0, 3_600_000),
      maxUpgraded: int(px, 'proxy', 'maxUpgraded', d.proxy.maxUpgraded, 0, 1_000_000),
    },
  };
  // A check that outlives its interval would overlap the next one.
  if (config.healthCheck.timeoutMs >= config.healthCheck.intervalMs) {
    problems.push(
      `healthCheck.timeoutMs: must be less than healthCheck.intervalMs (${config.healthCheck.intervalMs}), got ${config.healthCheck.timeoutMs}`,
    );
  }
  // Faster checks while starting make no sense if they are slower than the normal ones; a file that
  // sets only a short intervalMs gets the start interval capped to it.
  if (hc.startIntervalMs !== undefined && config.healthCheck.startIntervalMs > config.healthCheck.intervalMs) {
    problems.push(`healthCheck.startIntervalMs: must not exceed healthCheck.intervalMs (${config.healthCheck.intervalMs}), got ${config.healthCheck.startIntervalMs}`);
  } else if (config.healthCheck.startIntervalMs > config.healthCheck.intervalMs) {
    (config.healthCheck as { startIntervalMs: number }).startIntervalMs = config.healthCheck.intervalMs;
  }
  // The admin API changes routing: never reachable beyond loopback without a token.
  // A token file counts: the balancer reads or generates the token before it listens.
  if (config.admin.enabled && !config.admin.token && !config.admin.tokenFile && !isLoopback(config.admin.host)) {
    problems.push(
      `admin.host: "${config.admin.host}" is not a loopback address, so LB_ADMIN_TOKEN or admin.tokenFile (LB_ADMIN_TOKEN_FILE) must be set (or admin.enabled: false)`,
    );
  }
  if (config.admin.enabled && config.admin.port !== 0 && config.admin.port === config.listen.port) {
    problems.push(`admin.port: must differ from listen.port (${config.listen.port})`);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

const MAX_WORKERS = 64;

function workers(raw: unknown, def: number, problems: string[]): number {
  if (raw === undefined) return def;
  if (raw === 'auto') return Math.min(MAX_WORKERS, os.availableParallelism());
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_WORKERS) {
    problems.push(`workers: expected an integer from 1 to ${MAX_WORKERS} or "auto", got ${show(raw)}`);
    return def;
  }
  return raw;
}

function upstreams(raw: unknown, problems: string[]): UpstreamConfig[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    problems.push('upstreams: expected a list of upstreams (e.g. "- url: http://127.0.0.1:8081")');
    return undefined;
  }
  if (raw.length === 0) problems.push('upstreams: expected at least one upstream');
  const seen = new Map<string, number>();
  const result: UpstreamConfig[] = [];
  raw.forEach((entry, i) => {
    const path = `upstreams[${i}]`;
    // Both "- http://x:1" and "- url: http://x:1" are accepted.
    const obj: Obj = typeof entry === 'string' ? { url: entry } : isObj(entry) ? entry : {};
    if (!isObj(entry) && typeof entry !== 'string') {
      problems.push(`${path}: expected a URL string or a mapping with "url"`);
      return;
    }
    unknownKeys(obj, path, KNOWN_KEYS.upstream, problems);
    const parsed = parseUpstreamUrl(obj.url);
    if ('problem' in parsed) {
      problems.push(`${path}.url: ${obj.url === undefined ? 'missing' : parsed.problem}`);
      return;
    }
    if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name === '')) {
      problems.push(`${path}.name: expected a non-empty string, got ${show(obj.name)}`);
    }
    const name = typeof obj.name === 'string' && obj.name !== '' ? obj.name : parsed.name;
    if (obj.group !== undefined && (typeof obj.group !== 'string' || obj.group === '')) problems.push(`${path}.group: expected a non-empty string, got ${show(obj.group)}`);
    if (obj.weight !== undefined && (typeof obj.weight !== 'number' || !Number.isInteger(obj.weight) || obj.weight < 0 || obj.weight > 1_000_000)) {
      problems.push(`${path}.weight: expected an integer from 0 to 1000000, got ${show(obj.weight)}`);
    }
    const dup = seen.get(parsed.url) ?? seen.get(`name:${name}`);
    if (dup !== undefined) {
      problems.push(`${path}.url: duplicate of upstreams[${dup}] (${parsed.url})`);
      return;
    }
    seen.set(parsed.url, i);
    seen.set(`name:${name}`, i);
    result.push({
      url: parsed.url,
      name,
      ...(typeof obj.group === 'string' && obj.group ? { group: obj.group } : {}),
      ...(typeof obj.weight === 'number' ? { weight: obj.weight } : {}),
    });
  });
  return result;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function unknownKeys(obj: Obj, path: string, known: readonly string[] | undefined, problems: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known?.includes(key)) {
      const where = path ? `${path}.${key}` : key;
      problems.push(`${where}: unknown key (expected one of: ${known?.join(', ')})`);
    }
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
