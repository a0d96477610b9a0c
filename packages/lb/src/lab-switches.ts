/**
 * Lab-only switches that turn OFF one of the balancer's zero-downtime mechanisms, so `npm run
 * experiment` can show which failure each one prevents. Never a default, never in the config file:
 * only the environment variable LB_LAB_DISABLE (comma-separated names) turns one off, and the
 * balancer logs a loud warning at start when any is set.
 *
 *   retry        no retry on another upstream, even for a request that never reached one
 *                (connection refused) or hit a reset on a reused keep-alive socket
 *   health-gate  a new upstream is in rotation as soon as it is added, before any health check passed
 */
export const LAB_SWITCHES = ['retry', 'health-gate'] as const;
export type LabSwitch = (typeof LAB_SWITCHES)[number];

export const LAB_SWITCHES_ENV = 'LB_LAB_DISABLE';

export class LabSwitchError extends Error {
  readonly code = 'LB_ERR_LAB_SWITCH';
}

/** Parses LB_LAB_DISABLE; an unknown name is an error naming it and the known ones. */
export function parseLabSwitches(raw: string | undefined): ReadonlySet<LabSwitch> {
  const names = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(LAB_SWITCHES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new LabSwitchError(`${LAB_SWITCHES_ENV}: unknown lab switch ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${LAB_SWITCHES.join(', ')})`);
  }
  return new Set(names as LabSwitch[]);
}

let current: ReadonlySet<LabSwitch> | undefined;

/**
 * True when the mechanism is switched off for this process (read once from the environment;
 * main.ts validates it at start, so a bad value stops the balancer before it serves).
 */
export function labDisabled(name: LabSwitch): boolean {
  if (!current) {
    try {
      current = parseLabSwitches(process.env[LAB_SWITCHES_ENV]);
    } catch {
      current = new Set();
    }
  }
  return current.has(name);
}
