import { z } from 'zod';
import { groupName, splitEntries, strictObject, upstreamName, upstreamUrl, versionLabel, weight } from './rules';

/** The admin API's request bodies, from the same rules as the YAML file (config/rules). */

export const MAX_WAIT_MS = 600_000;

export const addUpstreamBody = strictObject({
  url: upstreamUrl,
  name: upstreamName.optional(),
  enabled: z.boolean({ errorMap: () => ({ message: 'expected true or false' }) }).optional(),
  group: groupName.optional(),
  weight: weight.optional(),
  /** The version it runs (the deployer knows it); shown on the dashboard. */
  version: versionLabel.optional(),
});

/** POST /registrations: an instance announcing itself (enabled; it joins after its first passing health check). */
export const registerBody = strictObject({
  url: upstreamUrl,
  name: upstreamName.optional(),
  version: versionLabel.optional(),
  group: groupName.optional(),
  weight: weight.optional(),
});

export const patchUpstreamBody = strictObject({ group: groupName.optional(), weight: weight.optional(), version: versionLabel.optional() });

export const putSplitBody = strictObject({ groups: splitEntries });

/** `?waitMs=` (or body.waitMs): how long a drain may wait for in-flight requests; default 30 s. */
export const waitMsParam = z
  .unknown()
  .transform((raw, ctx) => {
    if (raw === undefined) return 30_000;
    const n = Number(raw);
    if (typeof raw === 'object' || raw === '' || !Number.isInteger(n) || n < 0 || n > MAX_WAIT_MS) {
      ctx.addIssue({ code: 'custom', message: `expected an integer from 0 to ${MAX_WAIT_MS}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return n;
  });

export type AddUpstreamBody = z.output<typeof addUpstreamBody>;
export type RegisterBody = z.output<typeof registerBody>;
export type PatchUpstreamBody = z.output<typeof patchUpstreamBody>;
