import type { Logger } from './logger';

/**
 * The last line of defence: an exception or rejection that nothing caught is logged and the
 * process keeps serving. Every request step is already guarded (proxy-handler's guard); this
 * catches what escapes from library callbacks, so no input can end the balancer. Counted, so a
 * test (and an operator reading the log) can see that it happened.
 */
export function installCrashGuard(log: Logger, target: Pick<NodeJS.Process, 'on'> = process): { readonly caught: number } {
  const state = { caught: 0 };
  target.on('uncaughtException', (err: Error) => {
    state.caught++;
    log.error('uncaught exception (the balancer keeps serving)', { error: err.message, stack: err.stack });
  });
  target.on('unhandledRejection', (reason: unknown) => {
    state.caught++;
    log.error('unhandled rejection (the balancer keeps serving)', { error: reason instanceof Error ? reason.message : String(reason) });
  });
  return state;
}
