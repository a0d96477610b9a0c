import { Announcer } from '@zdl/announce';
import { createClientApp } from './client-app';
import { ClientConfigError, readClientConfig } from './client-config';
import { GracefulServer } from './graceful-server';
import { LongLivedEndpoints } from './long-lived-endpoints';

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
  const longLived = new LongLivedEndpoints({ version: config.version, instance: config.instance, eventsIntervalMs: config.eventsIntervalMs });
  const app = createClientApp(config, server, { events: longLived.events });

  // As PID 1 in a container, Node ignores SIGTERM unless it is handled (docs/graceful-shutdown.md).
  // Exit 0 only for a clean stop: a request cut by SHUTDOWN_TIMEOUT_MS is a failed one (exit 1).
  const onSignal = (signal: NodeJS.Signals) => {
    log('signal received', { signal });
    if (config.labExitOnSigterm) {
      // Lab only: no graceful shutdown, so in-flight requests and open connections are cut.
      log('lab: LAB_EXIT_ON_SIGTERM=1, exiting at once without a graceful shutdown', { signal });
      process.exit(0);
    }
    // The drain handshake first (self-registered only): the balancer stops choosing us and says when
    // no request is in flight here; only then do we stop accepting. Without an answer, the usual drain.
    const handshake = announcer
      ? announcer.drainAndLeave(config.announce!.drainWaitMs).then((o) => log('drain handshake', { ...o }))
      : Promise.resolve();
    handshake.then(() => server.stop()).then(
      (r) => {
        if (r.cut > 0) log('shutdown cut requests in flight', { cut: r.cut });
        process.exit(r.cut > 0 ? 1 : 0);
      },
      (err) => {
        log('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  // Handled before listening: a signal that arrives while starting also ends the process cleanly.
  let announcer: Announcer | undefined;
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await server.start(app, longLived);
  log('listening', { port: server.port, version: config.version, instance: config.instance });
  if (config.announce) {
    const a = config.announce;
    // Registers once listening (retrying until the balancer answers) and renews its lease by heartbeat.
    announcer = new Announcer({
      balancerUrl: a.balancerUrl,
      token: a.token,
      url: a.url,
      version: config.version,
      ...(a.name ? { name: a.name } : {}),
      onEvent: (e) => log(`announce: ${e.type}`, { ...e }),
    });
    announcer.start();
  }
}

main().catch((err) => {
  process.stderr.write(`client: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
