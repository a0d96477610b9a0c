/** A configuration that cannot be used; `problems` holds one line per problem, each starting with its path. */
export class ConfigError extends Error {
  readonly code = 'LB_ERR_CONFIG';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`, options);
    this.name = 'ConfigError';
  }
}
