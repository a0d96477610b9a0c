import { EventEmitter } from 'node:events';
import { installCrashGuard } from './crash-guard';
import type { Logger } from './logger';

describe('installCrashGuard', () => {
  it('logs an uncaught exception or an unhandled rejection instead of letting it end the process', () => {
    const target = new EventEmitter();
    const logged: string[] = [];
    const log = { debug() {}, info() {}, warn() {}, error: (msg: string, f?: Record<string, unknown>) => logged.push(`${msg}: ${String(f?.error)}`) } as Logger;
    const guard = installCrashGuard(log, target as unknown as NodeJS.Process);
    target.emit('uncaughtException', new Error('boom'));
    target.emit('unhandledRejection', new Error('late'));
    expect(guard.caught).toBe(2);
    expect(logged).toEqual(['uncaught exception (the balancer keeps serving): boom', 'unhandled rejection (the balancer keeps serving): late']);
  });
});
