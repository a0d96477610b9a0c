import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarizeProfile } from './cpuprofile';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });

describe('summarizeProfile', () => {
  it('adds self time per function, inclusive time per stack and self time per area', () => {
    // root → handle (our code) → web (http-proxy) → writev (native); plus idle.
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 5] },
        { id: 2, callFrame: frame('handle', 'file:///x/packages/lb/dist/proxy/proxy-handler.js'), children: [3] },
        { id: 3, callFrame: frame('web', 'file:///x/node_modules/http-proxy/lib/http-proxy/index.js'), children: [4] },
        { id: 4, callFrame: frame('writev'), children: [] },
        { id: 5, callFrame: frame('(idle)'), children: [] },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: [2, 3, 4, 4, 5],
      timeDeltas: [0, 1000, 1000, 1000, 1000],
    };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cpuprof-')), 'x.cpuprofile');
    fs.writeFileSync(file, JSON.stringify(profile));
    const s = summarizeProfile(file);
    expect(s.busyMs).toBe(4);
    expect(s.self.find((f) => f.fn === 'writev')?.ms).toBe(2);
    expect(s.inclusive.find((f) => f.fn === 'handle')?.ms).toBe(4);
    expect(s.areas.find((a) => a.area === 'our balancer (packages/lb)')?.ms).toBe(1);
    expect(s.areas.find((a) => a.area === 'http-proxy')?.ms).toBe(1);
  });
});
