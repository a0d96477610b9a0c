import { ConfigError } from './config-error';
import { type LbConfig, lbConfigSchema } from './lb-config-schema';
import { formatIssues } from './rules';

/**
 * Validates a parsed configuration document against the one schema, filling in defaults.
 * Collects every problem (with its path) before failing, so a user fixes a file in one pass.
 */
export function validateConfig(raw: unknown, source: string): LbConfig {
  const isObj = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  if (raw !== null && raw !== undefined && !isObj) throw new ConfigError(source, ['(root): expected a mapping']);
  // loadConfig passes the admin token (from the environment) beside the file's settings.
  const { adminToken, registrationToken, ...doc } = (raw ?? {}) as Record<string, unknown>;
  const result = lbConfigSchema.safeParse(doc);
  const problems = result.success ? [] : formatIssues(result.error);
  const token = typeof adminToken === 'string' && adminToken !== '' ? adminToken : undefined;
  const regToken = typeof registrationToken === 'string' && registrationToken !== '' ? registrationToken : undefined;
  // The registration token is handed to every instance: it must never also open the admin API.
  if (token && regToken === token) problems.push('LB_REGISTRATION_TOKEN: must differ from LB_ADMIN_TOKEN (instances get the registration token; it must not open the admin API)');
  if (result.success) {
    const { admin } = result.data;
    // The admin API changes routing: never reachable beyond loopback without a token.
    if (admin.enabled && !token && !admin.tokenFile && !isLoopback(admin.host)) {
      problems.push(`admin.host: "${admin.host}" is not a loopback address, so LB_ADMIN_TOKEN or admin.tokenFile (LB_ADMIN_TOKEN_FILE) must be set (or admin.enabled: false)`);
    }
  }
  if (!result.success || problems.length > 0) throw new ConfigError(source, problems);
  const config = { ...result.data, admin: { ...result.data.admin, ...(token ? { token } : {}), ...(regToken ? { registrationToken: regToken } : {}) } };
  return deepFreeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
