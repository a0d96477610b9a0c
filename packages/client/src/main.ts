import { createClientApp } from './client-app';
import { ClientConfigError, readClientConfig } from './client-config';
import { GracefulServer } from './graceful-server';

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), component: 'client', msg, ...fields }) + '\n');
}

async function main(): Promise<void> {
  let config;
  try {
    config = readClientConfig();
  } catch (err) {
    if (err instanceof ClientConfigError) {
      process.stderr.write(`client: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = new GracefulServer({ ...config, log });
  const app = createClientApp(config, server);
  await server.start(app);
  log('listening', { port: server.port, version: config.version, instance: config.instance });

  // As PID 1 in a container, Node ignores SIGTERM unless it is handled (FIELD-NOTES).
  const onSignal = (signal: NodeJS.Signals) => {
    log('signal received', { signal });
    if (config.labExitOnSigterm) {
      // Lab only: no graceful shutdown, so in-flight requests and open connections are cut.
      log('lab: LAB_EXIT_ON_SIGTERM=1, exiting at once without a graceful shutdown', { signal });
      process.exit(0);
    }
    server.stop().then(
      () => process.exit(0),
      (err) => {
        log('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

main().catch((err) => {
  process.stderr.write(`client: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
