import { z } from 'zod';
import { parseUpstreamUrl } from './parse-upstream-url';

/**
 * The rules shared by the YAML file and the admin API bodies: one definition each, so a name that
 * one of them accepts the other accepts too (and the proxy can always write it into a header).
 */

export function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : (JSON.stringify(v) ?? String(v));
}

/** An integer in [min, max]; the message names the range and what was given. */
export const intIn = (min: number, max: number) =>
  z.number({ errorMap: (_issue, ctx) => ({ message: `expected an integer from ${min} to ${max}, got ${show(ctx.data)}` }) }).int().min(min).max(max);

export const nonEmptyString = z.string({ errorMap: (_i, ctx) => ({ message: `expected a non-empty string, got ${show(ctx.data)}` }) }).min(1);

export const MAX_NAME_LENGTH = 255;
/**
 * An upstream name: it is written into every response's `x-upstream` header, so it must be a valid
 * header value; visible ASCII only (no spaces, controls or non-ASCII), which also keeps logs and
 * metrics labels unambiguous. Long enough for any DNS name with a port.
 */
export const upstreamName = z
  .string({ errorMap: (_i, ctx) => ({ message: `expected a non-empty string, got ${show(ctx.data)}` }) })
  .min(1)
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters only (no spaces, control or non-ASCII characters): it is sent in the x-upstream header');

/** A DNS name to resolve (a compose service, `tasks.<service>`, an FQDN): labels of letters, digits, - and _. */
export const dnsName = z
  .string({ errorMap: (_i, ctx) => ({ message: `expected a DNS name, got ${show(ctx.data)}` }) })
  .min(1)
  .max(253, 'must be at most 253 characters')
  .regex(/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/, 'must be a DNS name (labels of letters, digits, - and _, separated by dots)');

export const MAX_GROUP_LENGTH = 64;
/** A traffic-split group (the deployer uses a version or blue/green): chosen by header or cookie, so a plain token. */
export const groupName = z
  .string({ errorMap: (_i, ctx) => ({ message: `expected a non-empty string, got ${show(ctx.data)}` }) })
  .min(1)
  .max(MAX_GROUP_LENGTH, `must be at most ${MAX_GROUP_LENGTH} characters`)
  .regex(/^[A-Za-z0-9._:+-]+$/, 'may contain only letters, digits and . _ : + -');

export const MAX_VERSION_LENGTH = 64;
/** A version label (the deployer's --version, an image tag): shown on the dashboard and in receipts. */
export const versionLabel = z
  .string({ errorMap: (_i, ctx) => ({ message: `expected a non-empty string, got ${show(ctx.data)}` }) })
  .min(1)
  .max(MAX_VERSION_LENGTH, `must be at most ${MAX_VERSION_LENGTH} characters`)
  .regex(/^[A-Za-z0-9._:+-]+$/, 'may contain only letters, digits and . _ : + -');

export const MAX_WEIGHT = 1_000_000;
/** The one weight rule: an upstream's share in its group and a group's share in a split; 0 = no traffic. */
export const weight = intIn(0, MAX_WEIGHT);

/** An upstream URL, normalized to http://host:port (IPv6 hosts in brackets). */
export const upstreamUrl = z.unknown().transform((raw, ctx) => {
  if (raw === undefined) {
    ctx.addIssue({ code: 'custom', message: 'missing' });
    return z.NEVER;
  }
  const parsed = parseUpstreamUrl(raw);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  }
  return parsed;
});

/** One group's share in a split. */
export const splitEntry = z.object({ group: groupName, weight }).strict('unknown field (expected group, weight)');

/** A traffic split: a non-empty list of distinct groups, at least one with traffic. */
export const splitEntries = z
  .array(splitEntry, { errorMap: () => ({ message: 'expected a non-empty list like [{"group":"canary","weight":10},{"group":"baseline","weight":90}]' }) })
  .min(1, 'expected a non-empty list like [{"group":"canary","weight":10},{"group":"baseline","weight":90}]')
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (seen.has(e.group)) ctx.addIssue({ code: 'custom', path: [i, 'group'], message: `"${e.group}" appears twice` });
      seen.add(e.group);
    });
    if (entries.length > 0 && entries.every((e) => e.weight === 0)) ctx.addIssue({ code: 'custom', message: 'at least one weight must be above 0' });
  });

export type SplitEntry = z.infer<typeof splitEntry>;

/** A zod object that reports unknown keys one by one with the keys it expects (a typo would otherwise be ignored). */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape, { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_type' ? 'expected a mapping' : ctx.defaultError }) }).strict(`unknown key (expected one of: ${Object.keys(shape).join(', ')})`);
}

/** Zod issues as "path: message" lines (paths like `upstreams[0].url`); unknown keys one line each. */
export function formatIssues(error: z.ZodError, prefix: (string | number)[] = []): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...path, key])}: ${issue.message}`);
      continue;
    }
    lines.push(`${formatPath(path)}: ${issue.message}`);
  }
  return lines;
}

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}
