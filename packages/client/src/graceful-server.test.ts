import http from 'node:http';
import { createClientApp } from './client-app';
import { readClientConfig } from './client-config';
import { GracefulServer } from './graceful-server';

function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

async function startClient(env: Record<string, string>) {
  const config = readClientConfig({ PORT: '0', HOST: '127.0.0.1', INSTANCE_NAME: 'test-1', ...env });
  const server = new GracefulServer(config);
  await server.start(createClientApp(config, server));
  return { server, config };
}

describe('demo service', () => {
  it('answers /ping and /api with its version and instance', async () => {
    const { server } = await startClient({ APP_VERSION: 'v7' });
    try {
      expect((await get(server.port, '/ping')).status).toBe(200);
      const api = JSON.parse((await get(server.port, '/api')).body);
      expect(api).toMatchObject({ version: 'v7', instance: 'test-1' });
      expect(typeof api.time).toBe('string');
    } finally {
      await server.stop();
    }
  });

  it('fails /ping until STARTUP_DELAY_MS has passed', async () => {
    const { server } = await startClient({ STARTUP_DELAY_MS: '300' });
    try {
      expect((await get(server.port, '/ping')).status).toBe(503);
      await new Promise((r) => setTimeout(r, 350));
      expect((await get(server.port, '/ping')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('answers a FAIL_RATE share of /api with 500, using the injected randomness', async () => {
    const config = readClientConfig({ PORT: '0', HOST: '127.0.0.1', FAIL_RATE: '0.5' });
    const server = new GracefulServer(config);
    const rolls = [0.1, 0.9, 0.4, 0.6];
    await server.start(createClientApp(config, server, { random: () => rolls.shift() ?? 1 }));
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(server.port, '/api')).status);
      expect(statuses).toEqual([500, 200, 500, 200]);
    } finally {
      await server.stop();
    }
  });

  it('on shutdown: /ping turns 503, in-flight requests complete, then it stops accepting', async () => {
    const { server } = await startClient({ LATENCY_MS: '400', SHUTDOWN_DRAIN_MS: '2000', SHUTDOWN_QUIET_MS: '150' });
    const agent = new http.Agent({ keepAlive: true });
    const port = server.port;
    const inFlight = get(port, '/api', agent);
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server.stop();
    expect(server.shuttingDown).toBe(true);
    expect((await get(port, '/ping')).status).toBe(503);
    // Still serving during the drain window: the balancer may not have noticed yet.
    const during = get(port, '/api');
    const first = await inFlight;
    expect(first.status).toBe(200);
    expect((await during).status).toBe(200);
    const t0 = Date.now();
    await stopped;
    expect(Date.now() - t0).toBeLessThan(1500);
    await expect(get(port, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
  });

  it('a request in flight when the server stops accepting still completes, with Connection: close', async () => {
    const { server } = await startClient({ LATENCY_MS: '500', SHUTDOWN_DRAIN_MS: '0' });
    const port = server.port;
    const inFlight = get(port, '/api', new http.Agent({ keepAlive: true }));
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([server.stop(), inFlight]);
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.connection).toBe('close');
  });

  it('stop() is idempotent', async () => {
    const { server } = await startClient({ SHUTDOWN_DRAIN_MS: '0' });
    const a = server.stop();
    expect(server.stop()).toBe(a);
    await a;
  });
});
