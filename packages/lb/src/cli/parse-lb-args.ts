import { parseArgs } from 'node:util';

/** One command-line option: what node:util parseArgs needs, plus what the help text shows. */
interface OptionDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in the help for a string option's value. */
  readonly value?: string;
  readonly help: string;
}

/** The balancer's options: the parser and the help text are both made from this table, so they cannot drift. */
export const LB_OPTIONS = {
  config: { type: 'string', short: 'c', value: 'file.yaml', help: 'YAML configuration (default: env LB_CONFIG; built-in defaults without one)' },
  help: { type: 'boolean', short: 'h', help: 'show this help and exit' },
} as const satisfies Record<string, OptionDef>;

/** Environment variables the balancer reads (they override the file). */
const ENV_HELP = [
  'LB_CONFIG            the configuration file when --config is not given',
  'LB_HOST, LB_PORT     traffic address (listen.host, listen.port)',
  'LB_WORKERS           processes serving traffic: a number or "auto" (workers)',
  'LB_UPSTREAMS         comma-separated upstream URLs (upstreams)',
  'LB_ADMIN_HOST, LB_ADMIN_PORT   admin API address (admin.host, admin.port)',
  'LB_ADMIN_TOKEN       admin bearer token (never in the file)',
  'LB_ADMIN_TOKEN_FILE  without LB_ADMIN_TOKEN: read the token here, or generate it at the first start (admin.tokenFile)',
  'LB_REGISTRATION_TOKEN  opens POST /registrations only (self-registration); must differ from LB_ADMIN_TOKEN (or admin.registrationTokenFile)',
  'LOG_LEVEL            debug, info (default), warn, error, silent',
];

export type LbArgs = { help: true } | { help: false; config?: string };

/** A command line that cannot be used; `problems` lists every one of them. */
export class LbArgsError extends Error {
  readonly code = 'LB_ERR_ARGS';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'LbArgsError';
  }
}

export function lbUsage(): string {
  const rows = Object.entries(LB_OPTIONS).map(([name, d]: [string, OptionDef]) => {
    const flag = `${d.short ? `-${d.short}, ` : '    '}--${name}${d.type === 'string' ? ` <${d.value ?? 'value'}>` : ''}`;
    return `  ${flag.padEnd(28)} ${d.help}`;
  });
  return ['usage: lb [options]', '', 'options:', ...rows, '', 'environment (overrides the file):', ...ENV_HELP.map((l) => `  ${l}`)].join('\n');
}

/**
 * Parses the balancer's arguments with node:util parseArgs. Non-strict parsing with tokens, so every
 * problem is reported at once (parseArgs' strict mode stops at the first) in this project's words.
 */
export function parseLbArgs(argv: readonly string[]): LbArgs {
  const options = Object.fromEntries(Object.entries(LB_OPTIONS).map(([k, d]: [string, OptionDef]) => [k, { type: d.type, ...(d.short ? { short: d.short } : {}) }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  let config: string | undefined;
  let help = false;
  for (const t of tokens) {
    if (t.kind === 'positional') problems.push(`unexpected argument "${t.value}"`);
    else if (t.kind === 'option-terminator') continue;
    else if (!(t.name in LB_OPTIONS)) problems.push(`unknown argument "${t.rawName}"`);
    else if (t.name === 'help') {
      if (t.value !== undefined) problems.push(`${t.rawName}: takes no value`);
      else help = true;
    } else if (t.name === 'config') {
      // "--config --help": parseArgs would take the next option as the value.
      if (t.value === undefined || t.value === '' || (!t.inlineValue && t.value.startsWith('-'))) problems.push(`${t.rawName} needs a file path`);
      else if (config !== undefined) problems.push(`${t.rawName}: given twice`);
      else config = t.value;
    }
  }
  if (problems.length > 0) throw new LbArgsError(problems);
  if (help) return { help: true };
  return { help: false, ...(config !== undefined ? { config } : {}) };
}
