import os from 'node:os';
import { ConfigError } from './config-error';
import { loadConfig, parseYaml } from './load-config';
import { DEFAULT_CONFIG } from './lb-config';
import { validateConfig } from './validate-config';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('LB_ERR_CONFIG');
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const fromYaml = (text: string) => validateConfig(parseYaml(text, 'test.yaml'), 'test.yaml');

describe('config validation', () => {
  it('fills every default from one place for an empty file', () => {
    expect(fromYaml('')).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.healthCheck).toMatchObject({ path: '/ping', intervalMs: 1000, fall: 3, rise: 1 });
    expect(DEFAULT_CONFIG.upstreams.map((u) => u.url)).toEqual(['http://127.0.0.1:8081', 'http://127.0.0.1:8082']);
  });

  it('returns a frozen config', () => {
    const c = fromYaml('upstreams: [http://a:1]');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.healthCheck)).toBe(true);
    expect(Object.isFrozen(c.upstreams[0])).toBe(true);
  });

  it('accepts upstreams as strings or mappings and normalizes them', () => {
    const c = fromYaml('upstreams:\n  - http://client-1:8081/\n  - url: http://client-2:8082\n    name: two\n  - http://web\n');
    expect(c.upstreams).toEqual([
      { url: 'http://client-1:8081', name: 'client-1:8081' },
      { url: 'http://client-2:8082', name: 'two' },
      { url: 'http://web:80', name: 'web:80' },
    ]);
  });

  it.each([
    ['wrong type', 'listen:\n  port: "8080"', ['listen.port: expected an integer from 0 to 65535, got "8080"']],
    ['port out of range', 'listen: { port: 70000 }', ['listen.port: expected an integer from 0 to 65535, got 70000']],
    ['unknown top-level key', 'upstream: []', ['upstream: unknown key (expected one of: listen, workers, upstreams, healthCheck, admin, discovery, registration, routing, proxy)']],
    ['unknown nested key', 'healthCheck: { interval: 5 }', ['healthCheck.interval: unknown key (expected one of: path, intervalMs, startIntervalMs, timeoutMs, fall, rise, passiveFall, ejectMs, maxEjectMs)']],
    ['timeout not below interval', 'healthCheck: { intervalMs: 500, timeoutMs: 500 }', ['healthCheck.timeoutMs: must be less than healthCheck.intervalMs (500), got 500']],
    ['empty upstream list', 'upstreams: []', ['upstreams: expected at least one upstream (an empty list needs self-registration: admin.registrationTokenFile)']],
    ['upstreams not a list', 'upstreams: http://a:1', ['upstreams: expected a list of upstreams (e.g. "- url: http://127.0.0.1:8081")']],
    ['malformed URL', 'upstreams: ["not a url"]', ['upstreams[0].url: "not a url" is not a valid URL (expected http://host:port)']],
    ['https upstream', 'upstreams: ["https://a:1"]', ['upstreams[0].url: "https://a:1": only http:// upstreams are supported']],
    ['URL with a path', 'upstreams: ["http://a:1/api"]', ['upstreams[0].url: "http://a:1/api": must be scheme, host and port only (no path, query or fragment)']],
    ['missing url', 'upstreams: [{ name: x }]', ['upstreams[0].url: missing']],
    ['duplicate upstream', 'upstreams: ["http://a:1", "http://a:1/"]', ['upstreams[1].url: duplicate of upstreams[0] (http://a:1)']],
    ['health path without slash', 'healthCheck: { path: ping }', ['healthCheck.path: must start with "/", got "ping"']],
    ['fall of zero', 'healthCheck: { fall: 0 }', ['healthCheck.fall: expected an integer from 1 to 100, got 0']],
    ['section of the wrong shape', 'proxy: 5', ['proxy: expected a mapping']],
    ['start interval above the interval', 'healthCheck: { intervalMs: 800, startIntervalMs: 900 }', ['healthCheck.startIntervalMs: must not exceed healthCheck.intervalMs (800), got 900']],
    ['zero workers', 'workers: 0', ['workers: expected an integer from 1 to 64 or "auto", got 0']],
  ])('rejects %s with a message naming the field', (_name, yaml, expected) => {
    expect(problemsOf(() => fromYaml(yaml))).toEqual(expected);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(() => fromYaml('listen: { port: -1 }\nhealthCheck: { fall: x, rise: 0 }\nupstreams: ["ftp://a"]\nextra: 1'));
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['extra', 'healthCheck.fall', 'healthCheck.rise', 'listen.port', 'upstreams[0].url']);
  });

  it('reports broken YAML with its line', () => {
    expect(problemsOf(() => fromYaml('listen:\n  port: [1, 2\n'))[0]).toMatch(/^YAML line \d+, column \d+: /);
  });

  it('reports a missing file by path', () => {
    expect(problemsOf(() => loadConfig('/nonexistent/lb.yaml', {}))).toEqual(['/nonexistent/lb.yaml: file not found']);
  });

  it('keeps the admin API on loopback unless a token is set', () => {
    expect(fromYaml('').admin).toEqual({ enabled: true, host: '127.0.0.1', port: 8090 });
    expect(problemsOf(() => loadConfig(undefined, { LB_ADMIN_HOST: '0.0.0.0' }))).toEqual([
      'admin.host: "0.0.0.0" is not a loopback address, so LB_ADMIN_TOKEN or admin.tokenFile (LB_ADMIN_TOKEN_FILE) must be set (or admin.enabled: false)',
    ]);
    expect(loadConfig(undefined, { LB_ADMIN_HOST: '0.0.0.0', LB_ADMIN_TOKEN: 's3cret' }).admin).toMatchObject({ host: '0.0.0.0', token: 's3cret' });
    // A token file counts: the balancer reads or generates the token before the admin API listens.
    expect(loadConfig(undefined, { LB_ADMIN_HOST: '0.0.0.0', LB_ADMIN_TOKEN_FILE: '/run/t' }).admin).toEqual({ enabled: true, host: '0.0.0.0', port: 8090, tokenFile: '/run/t' });
    expect(fromYaml('admin: { host: 0.0.0.0, tokenFile: /app/.lab/admin-token }').admin.tokenFile).toBe('/app/.lab/admin-token');
    expect(problemsOf(() => fromYaml('admin: { tokenFile: 3 }'))).toEqual(['admin.tokenFile: expected a non-empty string, got 3']);
    expect(problemsOf(() => fromYaml('admin: { port: 8080 }'))).toEqual(['admin.port: must differ from listen.port (8080)']);
  });

  it('applies environment overrides and validates them too', () => {
    const c = loadConfig(undefined, { LB_PORT: '9000', LB_UPSTREAMS: 'http://x:1, http://y:2' });
    expect(c.listen.port).toBe(9000);
    expect(c.upstreams.map((u) => u.url)).toEqual(['http://x:1', 'http://y:2']);
    expect(problemsOf(() => loadConfig(undefined, { LB_PORT: 'abc' }))).toEqual(['env LB_PORT: expected an integer, got "abc"']);
  });

  it('takes the number of processes from the file or LB_WORKERS (default 1, "auto" = one per CPU)', () => {
    expect(loadConfig(undefined, {}).workers).toBe(1);
    expect(loadConfig(undefined, { LB_WORKERS: '2' }).workers).toBe(2);
    expect(loadConfig(undefined, { LB_WORKERS: 'auto' }).workers).toBe(Math.min(64, os.availableParallelism()));
    expect(problemsOf(() => loadConfig(undefined, { LB_WORKERS: 'two' }))).toEqual(['env LB_WORKERS: expected a number of processes or "auto", got "two"']);
    expect(problemsOf(() => loadConfig(undefined, { LB_WORKERS: '100' }))).toEqual(['workers: expected an integer from 1 to 64 or "auto", got 100']);
  });

  it('takes the proxy engine from the file or LB_PROXY_ENGINE (default http-proxy) and names a wrong one', () => {
    expect(loadConfig(undefined, {}).proxy.engine).toBe('http-proxy');
    expect(loadConfig(undefined, { LB_PROXY_ENGINE: 'undici' }).proxy.engine).toBe('undici');
    expect(problemsOf(() => loadConfig(undefined, { LB_PROXY_ENGINE: 'nginx' }))).toEqual(['proxy.engine: expected "http-proxy" or "undici", got "nginx"']);
    expect(problemsOf(() => validateConfig({ upstreams: ['http://a:1'], proxy: { engine: 3 } }, 'test'))).toEqual(['proxy.engine: expected "http-proxy" or "undici", got 3']);
  });

  describe('hardening: inputs that used to start a balancer that then crashed or misrouted', () => {
    it.each([
      ['a name with a newline', 'upstreams: [{ url: "http://a:1", name: "a\\nb" }]', /^upstreams\[0\]\.name: must be visible ASCII/],
      ['a name with a non-ASCII character', 'upstreams: [{ url: "http://a:1", name: "snow☃man" }]', /^upstreams\[0\]\.name: must be visible ASCII/],
      ['a health path with a space', 'healthCheck: { path: "/health check" }', /^healthCheck\.path: must be a request path without spaces/],
      ['a health path with CR/LF', 'healthCheck: { path: "/ping\\r\\nX-Injected: 1" }', /^healthCheck\.path: must be a request path without spaces/],
      ['a group with a space', 'upstreams: [{ url: "http://a:1", group: "my group" }]', /^upstreams\[0\]\.group: may contain only/],
      ['localhost and 127.0.0.1 on one port', 'upstreams: ["http://localhost:8081", "http://127.0.0.1:8081"]', /^upstreams\[1\]\.url: duplicate of upstreams\[0\]/],
      ['a weight that is not an integer', 'upstreams: [{ url: "http://a:1", weight: 0.5 }]', /^upstreams\[0\]\.weight: expected an integer from 0 to 1000000, got 0.5$/],
    ])('rejects %s at load, naming the field', (_name, yaml, expected) => {
      const problems = problemsOf(() => fromYaml(yaml));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(expected);
    });

    it('accepts IPv6 upstreams (connected without the brackets)', () => {
      expect(fromYaml('upstreams: ["http://[::1]:8081"]').upstreams).toEqual([{ url: 'http://[::1]:8081', name: '[::1]:8081' }]);
    });

    it('names a "billion laughs" document instead of expanding it', () => {
      const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
      expect(problemsOf(() => parseYaml(laughs.join('\n'), 'laughs.yaml'))).toEqual(['YAML: too many alias expansions (a document that references itself exponentially is refused)']);
    });

    it('refuses an empty file and a file that is not UTF-8, naming them', () => {
      expect(problemsOf(() => loadConfig('/x/lb.yaml', {}, () => Buffer.from('')))).toEqual([expect.stringMatching(/^\/x\/lb\.yaml: the file is empty/)]);
      expect(problemsOf(() => loadConfig('/x/lb.yaml', {}, () => Buffer.from('# only a comment\n')))).toEqual([expect.stringMatching(/the file is empty/)]);
      const prefix = Buffer.from('upstreams: [{ url: "http://a:1", name: "a');
      const bad = Buffer.concat([prefix, Buffer.from([0xff, 0xfe]), Buffer.from('" }]\n')]);
      expect(problemsOf(() => loadConfig('/x/lb.yaml', {}, () => bad))).toEqual([`/x/lb.yaml: not valid UTF-8 (first bad byte at offset ${prefix.length})`]);
    });

    it('documents the hardening defaults in the schema', () => {
      expect(DEFAULT_CONFIG.proxy).toMatchObject({ headerTimeoutMs: 10_000, bodyIdleTimeoutMs: 10_000, requestTimeoutMs: 60_000, retryBufferBudgetBytes: 32 * 1024 * 1024, trustForwardedHeaders: false });
      expect(DEFAULT_CONFIG.healthCheck).toMatchObject({ passiveFall: 3, ejectMs: 5000, maxEjectMs: 120_000 });
    });
  });
});
