import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import { HttpProxyEngine, type ProxyEngine } from './http-proxy-engine';
import { UndiciEngine } from './undici-engine';

/** The engine `proxy.engine` names (every process of a cluster builds its own from the same config). */
export function createProxyEngine(options: LbConfig['proxy'], log: Logger): ProxyEngine {
  return options.engine === 'undici' ? new UndiciEngine(options, log) : new HttpProxyEngine(log);
}
