/**
 * How long the demo keeps the lab up after the deploy, for a look at the dashboard: DEMO_LINGER_S
 * if set, else 20 s in an interactive terminal, 0 in CI or when output is not a terminal.
 */
export function lingerSeconds(env: NodeJS.ProcessEnv, interactive: boolean): number {
  if (env.DEMO_LINGER_S !== undefined) {
    const n = Number(env.DEMO_LINGER_S);
    return Number.isFinite(n) && n > 0 ? Math.min(n, 3600) : 0;
  }
  return interactive && !env.CI ? 20 : 0;
}

/** Resolves after `ms`, or as soon as a line is entered on stdin. */
export function waitForEnterOrTimeout(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.stdin.off('data', done);
      process.stdin.pause();
      resolve();
    };
    const timer = setTimeout(done, ms);
    process.stdin.on('data', done);
    process.stdin.resume();
  });
}
