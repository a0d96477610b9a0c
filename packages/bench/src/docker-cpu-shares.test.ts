import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerCpuShares } from './docker-cpu-shares';

describe('DockerCpuShares', () => {
  let dir: string;
  let shares: string;
  let saved: string;
  const said: string[] = [];
  const make = () => new DockerCpuShares({ sharesFile: shares, savedFile: saved, say: (s) => said.push(s) });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-shares-'));
    shares = path.join(dir, 'cpu.shares');
    saved = path.join(dir, 'state', 'docker-cpu-shares.orig');
    fs.writeFileSync(shares, '1024\n');
    said.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sets the weight for the run and puts the original back', () => {
    const restore = make().set(8192);
    expect(fs.readFileSync(shares, 'utf8')).toBe('8192');
    expect(fs.readFileSync(saved, 'utf8')).toBe('1024');
    restore();
    expect(fs.readFileSync(shares, 'utf8')).toBe('1024');
    expect(fs.existsSync(saved)).toBe(false);
  });

  it('a run killed before putting it back: the next run repairs it, and keeps the true original', () => {
    make().set(8192); // killed: restore never runs
    expect(make().repair()).toBe(true);
    expect(fs.readFileSync(shares, 'utf8')).toBe('1024');
    expect(said.at(-1)).toMatch(/put back to 1024/);
    make().set(4096); // killed again
    const restore = make().set(8192); // reads 1024 as the original, not 4096
    restore();
    expect(fs.readFileSync(shares, 'utf8')).toBe('1024');
    expect(make().repair()).toBe(false);
  });

  it('names the file when the machine has no such cgroup', () => {
    fs.rmSync(shares);
    expect(() => make().set(8192)).toThrow(/cannot read .*cpu\.shares.*cgroup v1/);
    expect(fs.existsSync(saved)).toBe(false);
  });
});
