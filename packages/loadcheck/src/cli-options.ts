import { parseArgs } from 'node:util';

export type Mode = 'http' | 'websocket' | 'sse';

export interface CliOptions {
  mode: Mode;
  url: string;
  rate: number;
  durationMs: number;
  method: string;
  body?: unknown;
  connections: number;
  clients: number;
  intervalMs: number;
  /** A file, or '-' for stdout (then only JSON goes to stdout). */
  json?: string;
}

interface OptionDef {
  name: string;
  short?: string;
  value?: string;
  default?: string;
  help: string;
}

/** Every option, once: the parser, the defaults and the help text are all made from this list. */
export const OPTIONS: readonly OptionDef[] = [
  { name: 'mode', value: 'http|websocket|sse', default: 'http', help: 'what to drive: HTTP requests at a fixed rate, WebSocket clients, or Server-Sent Events clients' },
  { name: 'url', value: 'URL', help: 'target (default: http://127.0.0.1:8080/api, ws://127.0.0.1:8080/ws, http://127.0.0.1:8080/events by mode)' },
  { name: 'duration', value: 'TIME', default: '10s', help: 'how long to run, e.g. 500ms, 10s, 1m (more than 0)' },
  { name: 'rate', value: 'N', default: '200', help: 'http: requests per second, 1 to 100000' },
  { name: 'method', value: 'METHOD', default: 'GET', help: 'http: request method' },
  { name: 'body', value: 'JSON', help: 'http: JSON request body' },
  { name: 'connections', value: 'N', default: '64', help: 'http: at most this many keep-alive connections' },
  { name: 'clients', value: 'N', default: '10', help: 'websocket, sse: number of clients, 1 to 10000' },
  { name: 'interval', value: 'TIME', default: '100ms', help: 'websocket: each client sends a numbered message this often' },
  { name: 'json', value: 'FILE|-', help: "write the summary as JSON to FILE, or to stdout with '-' (the rest goes to stderr)" },
  { name: 'help', short: 'h', help: 'show this help' },
];

const DEFAULT_URLS: Record<Mode, string> = {
  http: 'http://127.0.0.1:8080/api',
  websocket: 'ws://127.0.0.1:8080/ws',
  sse: 'http://127.0.0.1:8080/events',
};

export function usage(): string {
  const lines = OPTIONS.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(34)} ${o.help}${o.default ? ` (default: ${o.default})` : ''}`;
  });
  return [
    'usage: npm run loadcheck -- [options]',
    '',
    'Drives load at the balancer and checks every answer. Exit 0 when nothing failed, 1 when something',
    'did, 2 for bad arguments.',
    '',
    ...lines,
  ].join('\n');
}

export type ParseResult = { help: true } | { options: CliOptions } | { problems: string[] };

/** Parses the command line; every problem is reported, not just the first. */
export function parseCliArgs(argv: readonly string[]): ParseResult {
  const config = Object.fromEntries(OPTIONS.map((o) => [o.name, { type: o.value ? ('string' as const) : ('boolean' as const), ...(o.short ? { short: o.short } : {}) }]));
  // Not strict: unknown options and missing values are collected from the tokens below, all at once.
  const { values, tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') problems.push(`unexpected argument "${t.value}"`);
    if (t.kind !== 'option') continue;
    const def = OPTIONS.find((o) => o.name === t.name);
    if (!def) problems.push(`${t.rawName}: unknown option`);
    else if (def.value && t.value === undefined) problems.push(`${t.rawName}: needs a value (${def.value})`);
    else if (!def.value && t.value !== undefined) problems.push(`${t.rawName}: takes no value`);
  }
  if (values.help === true && problems.length === 0) return { help: true };
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const dflt = (name: string) => OPTIONS.find((o) => o.name === name)!.default!;

  const mode = str('mode') ?? dflt('mode');
  if (!['http', 'websocket', 'sse'].includes(mode)) problems.push(`--mode: expected http, websocket or sse, got "${mode}"`);
  const m = (['http', 'websocket', 'sse'].includes(mode) ? mode : 'http') as Mode;

  const url = str('url') ?? DEFAULT_URLS[m];
  try {
    const u = new URL(url);
    const want = m === 'websocket' ? 'ws:' : 'http:';
    if (u.protocol !== want) problems.push(`--url: --mode ${m} needs a ${want}// URL, got "${url}"`);
  } catch {
    problems.push(`--url: "${url}" is not a URL`);
  }
  const durationMs = duration('--duration', str('duration') ?? dflt('duration'), problems);
  if (durationMs === 0) problems.push('--duration: must be more than 0 (nothing would be sent)');
  const intervalMs = duration('--interval', str('interval') ?? dflt('interval'), problems);
  if (intervalMs === 0) problems.push('--interval: must be more than 0');
  const rate = number('--rate', str('rate') ?? dflt('rate'), 1, 100_000, false, problems);
  const connections = number('--connections', str('connections') ?? dflt('connections'), 1, 10_000, true, problems);
  const clients = number('--clients', str('clients') ?? dflt('clients'), 1, 10_000, true, problems);
  let body: unknown;
  const rawBody = str('body');
  if (rawBody !== undefined) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      problems.push(`--body: not valid JSON: ${rawBody}`);
    }
  }
  const method = (str('method') ?? dflt('method')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) problems.push(`--method: expected a method name such as GET or POST, got "${method}"`);
  const json = str('json');
  if (json === '') problems.push("--json: expected a file name or '-'");
  if (problems.length > 0) return { problems };
  return { options: { mode: m, url, rate, durationMs, method, body, connections, clients, intervalMs, ...(json ? { json } : {}) } };
}

function duration(flag: string, v: string, problems: string[]): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(v);
  if (!m) {
    problems.push(`${flag}: expected e.g. 500ms, 10s or 1m, got "${v}"`);
    return 1;
  }
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
}

function number(flag: string, v: string, min: number, max: number, integer: boolean, problems: string[]): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    problems.push(`${flag}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
    return min;
  }
  return n;
}
