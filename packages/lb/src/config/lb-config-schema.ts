import os from 'node:os';
import { z } from 'zod';
import { backendKey } from './parse-upstream-url';
import { dnsName, groupName, intIn, nonEmptyString, show, strictObject, upstreamName, upstreamUrl, weight } from './rules';

/**
 * The balancer's ONE configuration schema: types (z.infer), defaults and validation with paths.
 * The YAML file, the environment overrides and the admin API bodies (admin-schemas.ts) all go
 * through rules defined in ./rules.
 */

const MAX_WORKERS = 64;
export const PROXY_ENGINES = ['http-proxy', 'undici'] as const;
export type ProxyEngineName = (typeof PROXY_ENGINES)[number];
const MiB = 1024 * 1024;

const section = <T extends z.ZodRawShape>(shape: T, refine?: (value: z.output<z.ZodObject<T>>, ctx: z.RefinementCtx) => void) =>
  z.preprocess((v) => (v === null ? undefined : v), strictObject(shape).superRefine((v, ctx) => refine?.(v as never, ctx)).default({} as never));

/** Health-check paths go on a request line: printable ASCII without spaces, starting with "/". */
const healthPath = z
  .string({ errorMap: (_i, ctx) => ({ message: `expected a non-empty string, got ${show(ctx.data)}` }) })
  .min(1)
  .superRefine((s, ctx) => {
    if (!s.startsWith('/')) ctx.addIssue({ code: 'custom', message: `must start with "/", got "${s}"` });
    else if (!/^[\x21-\x7e]+$/.test(s)) ctx.addIssue({ code: 'custom', message: `must be a request path without spaces or control characters (percent-encode them), got ${show(s)}` });
  });

const urlUpstream = z
  .object(
    { url: upstreamUrl, name: upstreamName.optional(), group: groupName.optional(), weight: weight.optional() },
    { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_type' ? 'expected a URL string or a mapping with "url" or "dns"' : ctx.defaultError }) },
  )
  .strict('unknown key (expected one of: url, name, group, weight; or dns, port, group, weight)')
  .transform(({ url, name, group, weight: w }) => ({
    url: url.url,
    name: name ?? url.name,
    ...(group !== undefined ? { group } : {}),
    ...(w !== undefined ? { weight: w } : {}),
  }));

/**
 * A DNS entry: every address the name resolves to is an upstream on `port` (a compose service
 * name resolves to each replica). Group and weight apply to every address found.
 */
const dnsUpstream = z
  .object({ dns: dnsName, port: intIn(1, 65535), group: groupName.optional(), weight: weight.optional() })
  .strict('unknown key (expected one of: dns, port, group, weight)')
  .transform(({ dns, port, group, weight: w }) => ({ dns, port, ...(group !== undefined ? { group } : {}), ...(w !== undefined ? { weight: w } : {}) }));

/** A URL string, a mapping with "url", or a mapping with "dns" and "port" (chosen by its keys, so errors name the right fields). */
export const upstreamSchema = z.unknown().transform((v, ctx) => {
  const raw = typeof v === 'string' ? { url: v } : v;
  const schema = typeof raw === 'object' && raw !== null && 'dns' in raw ? dnsUpstream : urlUpstream;
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.output<typeof urlUpstream> | z.output<typeof dnsUpstream>;
  // Fatal: the list-level checks (duplicates) must not see an entry that failed.
  for (const issue of r.error.issues) ctx.addIssue({ ...(issue as z.IssueData), fatal: true });
  return z.NEVER;
});

export type DnsUpstreamConfig = z.output<typeof dnsUpstream>;
const isDns = (u: z.output<typeof upstreamSchema>): u is DnsUpstreamConfig => 'dns' in u;
const DEFAULT_UPSTREAMS = ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'];

export const lbConfigSchema = strictObject({
  listen: section({ host: nonEmptyString.default('0.0.0.0'), port: intIn(0, 65535).default(8080) }),
  /**
   * Processes serving the traffic port. 1: one process does everything. More: node:cluster workers
   * proxy while the primary keeps health checks, the admin API and the routing state ("auto" = one per CPU).
   */
  workers: z
    .unknown()
    .transform((w, ctx) => {
      if (w === undefined) return 1;
      if (w === 'auto') return Math.min(MAX_WORKERS, os.availableParallelism());
      if (typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= MAX_WORKERS) return w;
      ctx.addIssue({ code: 'custom', message: `expected an integer from 1 to ${MAX_WORKERS} or "auto", got ${show(w)}` });
      return z.NEVER;
    }),
  upstreams: z
    .array(upstreamSchema, { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_type' ? 'expected a list of upstreams (e.g. "- url: http://127.0.0.1:8081")' : ctx.defaultError }) })
    .default(DEFAULT_UPSTREAMS)
    .superRefine((all, ctx) => {
      const seen = new Map<string, number>();
      const dnsSeen = new Map<string, number>();
      all.forEach((u, i) => {
        if (!isDns(u)) return;
        const key = `${u.dns.toLowerCase()}:${u.port}`;
        const dup = dnsSeen.get(key);
        if (dup !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'dns'], message: `duplicate of upstreams[${dup}] (${u.dns} port ${u.port})` });
        else dnsSeen.set(key, i);
      });
      const list = all.map((u, i) => [u, i] as const).filter((p): p is readonly [Exclude<typeof p[0], DnsUpstreamConfig>, number] => !isDns(p[0]));
      list.forEach(([u, i]) => {
        const dup = seen.get(`url:${backendKey(u.url)}`) ?? seen.get(`name:${u.name}`);
        if (dup !== undefined) {
          const other = all[dup] as { url: string };
          const same = other.url === u.url ? `(${u.url})` : `(${other.url} and ${u.url} are the same backend or name)`;
          ctx.addIssue({ code: 'custom', path: [i, 'url'], message: `duplicate of upstreams[${dup}] ${same}` });
          return;
        }
        seen.set(`url:${backendKey(u.url)}`, i);
        seen.set(`name:${u.name}`, i);
      });
    }),
  healthCheck: section({
    path: healthPath.default('/ping'),
    intervalMs: intIn(10, 3_600_000).default(1000),
    /**
     * Interval for an upstream that has never been healthy yet (a new instance starting up, like
     * HAProxy's fastinter): it joins rotation this soon after it is ready. Capped at intervalMs.
     */
    startIntervalMs: intIn(10, 3_600_000).optional(),
    timeoutMs: intIn(1, 3_600_000).default(500),
    /** Consecutive failed checks that take an upstream out of rotation. */
    fall: intIn(1, 100).default(3),
    /** Consecutive good checks that put it back. */
    rise: intIn(1, 100).default(1),
    /** Consecutive failed requests (refused, reset, timed out, cut mid-response) that eject an upstream. */
    passiveFall: intIn(1, 1000).default(3),
    /**
     * How long an upstream ejected by failed requests stays out, whatever its checks say (hysteresis:
     * a /ping that works must not put a broken /api straight back). Doubles on each ejection in a row.
     */
    ejectMs: intIn(0, 3_600_000).default(5000),
    maxEjectMs: intIn(0, 3_600_000).default(120_000),
  }, (hc, ctx) => {
    // Checked within the section so these show up together with any other problem of the file.
    // A check that outlives its interval would overlap the next one.
    if (hc.timeoutMs >= hc.intervalMs) ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: `must be less than healthCheck.intervalMs (${hc.intervalMs}), got ${hc.timeoutMs}` });
    if (hc.startIntervalMs !== undefined && hc.startIntervalMs > hc.intervalMs) {
      ctx.addIssue({ code: 'custom', path: ['startIntervalMs'], message: `must not exceed healthCheck.intervalMs (${hc.intervalMs}), got ${hc.startIntervalMs}` });
    }
    if (hc.maxEjectMs < hc.ejectMs) ctx.addIssue({ code: 'custom', path: ['maxEjectMs'], message: `must be at least healthCheck.ejectMs (${hc.ejectMs}), got ${hc.maxEjectMs}` });
  }),
  /** The admin API that changes routing: its own port, loopback by default, bearer token always. */
  admin: section({
    enabled: z.boolean({ errorMap: (_i, ctx) => ({ message: `expected true or false, got ${show(ctx.data)}` }) }).default(true),
    host: nonEmptyString.default('127.0.0.1'),
    port: intIn(0, 65535).default(8090),
    /**
     * Without LB_ADMIN_TOKEN: the token is read from this file, or generated into it at the first start
     * (mode 0600; see admin/admin-token.ts). Env LB_ADMIN_TOKEN_FILE.
     */
    tokenFile: nonEmptyString.optional(),
    /**
     * Without LB_REGISTRATION_TOKEN: the registration token (self-registration, POST /registrations)
     * is read from this file. No token at all: self-registration is off.
     */
    registrationTokenFile: nonEmptyString.optional(),
  }),
  /** DNS entries of `upstreams` ({dns, port}): how often they are resolved again and when an address counts as gone. */
  discovery: section({
    /** Default: healthCheck.intervalMs. */
    intervalMs: intIn(100, 3_600_000).optional(),
    /** Consecutive successful lookups an address must be missing from before it is drained and removed (a flapping resolver drains nothing). */
    missingLookups: intIn(1, 100).default(3),
  }),
  /** Self-registration (POST /registrations with the registration token, env LB_REGISTRATION_TOKEN). */
  registration: section({
    /** A registration not renewed for this long is drained and removed, like a failed health check. */
    leaseMs: intIn(100, 3_600_000).default(3000),
    /** How often instances are told to renew; must be below leaseMs. */
    heartbeatMs: intIn(50, 3_600_000).default(1000),
    /** Registered instances at most; one more gets 429 (a flood cannot grow the pool). */
    maxRegistrations: intIn(0, 100_000).default(256),
  }, (r, ctx) => {
    if (r.heartbeatMs >= r.leaseMs) ctx.addIssue({ code: 'custom', path: ['heartbeatMs'], message: `must be less than registration.leaseMs (${r.leaseMs}), got ${r.heartbeatMs}` });
  }),
  /** Which request headers/cookies steer a request when a traffic split is active. */
  routing: section({
    /** A user key here keeps the same user on the same group (sticky canary, A/B tests). */
    userKeyHeader: nonEmptyString.default('x-user-id').transform((s) => s.toLowerCase()),
    userKeyCookie: nonEmptyString.default('user_id'),
    /** A group name here forces that group (e.g. "x-route-group: canary"). */
    forceGroupHeader: nonEmptyString.default('x-route-group').transform((s) => s.toLowerCase()),
    forceGroupCookie: nonEmptyString.default('route_group'),
  }),
  proxy: section({
    /** The library that talks to upstreams: http-proxy (default) or undici (opt-in; see undici-engine.ts). */
    engine: z
      .string({ errorMap: (_i, ctx) => ({ message: `expected "http-proxy" or "undici", got ${show(ctx.data)}` }) })
      .refine((s): s is ProxyEngineName => (PROXY_ENGINES as readonly string[]).includes(s), (s) => ({ message: `expected "http-proxy" or "undici", got ${show(s)}` }))
      .default('http-proxy'),
    /** A new TCP connection to an upstream must open within this time, or the request goes elsewhere. */
    connectTimeoutMs: intIn(1, 600_000).default(1000),
    /** No byte from the upstream for this long → 504 (and a failure against the upstream). */
    upstreamTimeoutMs: intIn(1, 3_600_000).default(30_000),
    /** Idle keep-alive sockets to an upstream are closed after this; keep it below the service's keepAliveTimeout. */
    idleSocketMs: intIn(100, 3_600_000).default(4000),
    /** Request bodies up to this size are buffered so a failed connection can be retried elsewhere. */
    retryBodyLimitBytes: intIn(0, 1024 ** 3).default(MiB),
    /** All buffered request bodies together stay under this; beyond it bodies stream once, without retry. */
    retryBufferBudgetBytes: intIn(0, 16 * 1024 ** 3).default(32 * MiB),
    /** A client must send the whole request head within this (nginx client_header_timeout, HAProxy timeout http-request). */
    headerTimeoutMs: intIn(100, 3_600_000).default(10_000),
    /** At most this long between two reads of a request body (nginx client_body_timeout). */
    bodyIdleTimeoutMs: intIn(100, 3_600_000).default(10_000),
    /** The whole request (head and body) must arrive within this; 0 = no limit. */
    requestTimeoutMs: intIn(0, 3_600_000).default(60_000),
    /** Keep X-Forwarded-For/-Proto/-Host as a client sent them (only behind a proxy you trust); otherwise they are set here. */
    trustForwardedHeaders: z.boolean({ errorMap: (_i, ctx) => ({ message: `expected true or false, got ${show(ctx.data)}` }) }).default(false),
    /**
     * A drained upstream's WebSockets and event streams get this long to end by themselves, then the
     * balancer closes them cleanly (close frame 1012, a final event). They never end on their own,
     * so waiting longer only makes the deploy slower.
     */
    longLivedGraceMs: intIn(0, 3_600_000).default(2000),
    /** Upgraded connections (WebSockets...) one balancer process holds at most; beyond, upgrades get 503. */
    maxUpgraded: intIn(1, 1_000_000).default(4096),
  }),
})
  .superRefine((c, ctx) => {
    // An empty list only makes sense when instances register themselves (a Swarm stack whose tasks
    // announce themselves: there is nothing to list up front).
    if (c.upstreams.length === 0 && !c.admin.registrationTokenFile) {
      ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'expected at least one upstream (an empty list needs self-registration: admin.registrationTokenFile)' });
    }
    if (c.admin.enabled && c.admin.port !== 0 && c.admin.port === c.listen.port) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `must differ from listen.port (${c.listen.port})` });
    }
  })
  .transform((c) => ({
    ...c,
    // Static URL entries are the pool's; DNS entries are handed to discovery (discovery/dns-discovery).
    upstreams: c.upstreams.filter((u): u is Exclude<typeof u, DnsUpstreamConfig> => !isDns(u)),
    dnsUpstreams: c.upstreams.filter(isDns),
    discovery: { ...c.discovery, intervalMs: c.discovery.intervalMs ?? c.healthCheck.intervalMs },
    // A file that sets only a short intervalMs gets the start interval capped to it.
    healthCheck: { ...c.healthCheck, startIntervalMs: Math.min(c.healthCheck.startIntervalMs ?? 200, c.healthCheck.intervalMs) },
  }));

type Parsed = z.output<typeof lbConfigSchema>;
type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The balancer's configuration after validation: typed, complete, frozen. */
export type LbConfig = DeepReadonly<Omit<Parsed, 'admin'> & {
  /** admin.token comes from the environment, never from the file; undefined means every admin request is refused. */
  admin: Parsed['admin'] & {
    token?: string;
    /** Opens /registrations only (env LB_REGISTRATION_TOKEN or admin.registrationTokenFile); undefined: self-registration is off. */
    registrationToken?: string;
  };
}>;
/** One upstream; `version` comes from the admin API (the deployer, self-registration), never the file. */
export type UpstreamConfig = LbConfig['upstreams'][number] & { readonly version?: string };
