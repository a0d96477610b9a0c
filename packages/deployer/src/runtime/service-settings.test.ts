import type { CommandRunner } from './command-runner';
import { readServiceSettings } from './service-settings';

/** `docker compose config --format json` as compose prints it, for a scripted service. */
const composeConfig = (services: Record<string, unknown>, name = 'example'): CommandRunner => async (_cmd, args) => {
  expect(args.slice(-3)).toEqual(['config', '--format', 'json']);
  return JSON.stringify({ name, services });
};

describe('readServiceSettings (the compose service, as compose resolves it)', () => {
  it("reads the port, health path and DNS name from the service's labels; flags win", async () => {
    const run = composeConfig({ web: { image: 'org/web:1.0', labels: { 'zdl.port': '5000', 'zdl.health-path': '/healthz' } } });
    expect(await readServiceSettings(run, ['-f', 'c.yml'], '/x', 'web', {})).toEqual({ project: 'example', port: 5000, healthPath: '/healthz', dnsName: 'web', image: 'org/web:1.0' });
    expect(await readServiceSettings(run, [], '/x', 'web', { port: 6000, healthPath: '/up' })).toMatchObject({ port: 6000, healthPath: '/up' });
    const list = composeConfig({ api: { labels: ['zdl.port=7000', 'zdl.dns=tasks.api'] } });
    expect(await readServiceSettings(list, [], '/x', 'api', {})).toEqual({ project: 'example', port: 7000, healthPath: '/ping', dnsName: 'tasks.api' });
  });

  it('names what is wrong: an unknown service, no port anywhere, a bad label', async () => {
    const run = composeConfig({ web: { labels: { 'zdl.port': 'http' } }, db: {} });
    await expect(readServiceSettings(run, [], '/x', 'wbe', {})).rejects.toThrow('--service: no service "wbe" in the compose file (it has: web, db)');
    await expect(readServiceSettings(run, [], '/x', 'db', {})).rejects.toThrow('--port: required (or the label zdl.port on service "db")');
    await expect(readServiceSettings(run, [], '/x', 'web', {})).rejects.toThrow('label zdl.port of service "web": expected a port from 1 to 65535, got "http"');
    const broken: CommandRunner = async () => {
      throw new Error('docker compose config failed: yaml: line 3: mapping values are not allowed');
    };
    await expect(readServiceSettings(broken, [], '/x', 'web', {})).rejects.toThrow('--compose-file: docker compose cannot read it: docker compose config failed: yaml: line 3');
  });
});
