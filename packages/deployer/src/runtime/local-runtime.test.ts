import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_MAIN, freePort, INSTANCE_TOKEN_VAR, isAlive, startNodeProcess, waitForPort } from './local-process';
import { LocalRuntime } from './local-runtime';
import { LocalStateFile } from './local-state';

// A deployer SIGKILLed inside a spawn leaves a process whose pid was never recorded; the token
// written before the spawn finds it (real processes).
describe('LocalRuntime', () => {
  it('finds and removes a helper whose spawner died before recording its pid', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-rt-'));
    const state = new LocalStateFile(path.join(dir, 'state.json'));
    const port = await freePort();
    const name = `127.0.0.1:${port}`;
    state.write({ lb: { pid: 0, port: 0, adminPort: 0 }, adminToken: 't', clientEnv: {}, slots: {}, beside: { [name]: { pid: 0, token: 'tok-1', port, version: 'v2', slot: 'client-1' } } });
    const log = path.join(dir, 'h.log');
    const pid = startNodeProcess(CLIENT_MAIN, { PORT: String(port), HOST: '127.0.0.1', APP_VERSION: 'v2', [INSTANCE_TOKEN_VAR]: 'tok-1' }, log);
    try {
      await waitForPort(port, pid, 10_000, log);
      const rt = new LocalRuntime(state);
      expect(await rt.helpers()).toEqual([{ slot: 'client-1', name, url: `http://${name}`, version: 'v2' }]);
      expect(state.read().beside[name].pid).toBe(pid);
      await rt.removeBeside((await rt.helpers())[0]);
      expect(isAlive(pid)).toBe(false);
      expect(await rt.helpers()).toEqual([]);
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('never treats pid 0 (an intent with no process) as alive', () => {
    expect(isAlive(0)).toBe(false);
    expect(isAlive(-1)).toBe(false);
  });
});
