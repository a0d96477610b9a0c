import { lbConfigSchema, type LbConfig, type UpstreamConfig } from './lb-config-schema';

export type { LbConfig, UpstreamConfig };

/** Every default, as the schema fills them in for an empty document. */
export const DEFAULT_CONFIG: LbConfig = lbConfigSchema.parse({});
