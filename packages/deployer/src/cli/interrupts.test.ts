import { EventEmitter } from 'node:events';
import { Interrupts } from './interrupts';

describe('interrupts', () => {
  it('acts on the first SIGINT/SIGTERM only; later ones just say it is under way; a signal before the handler is delivered', () => {
    const proc = new EventEmitter();
    const said: string[] = [];
    const i = new Interrupts((l) => said.push(l), proc as never);
    i.start();
    proc.emit('SIGTERM');
    const calls: string[] = [];
    i.onInterrupt((r) => calls.push(r));
    proc.emit('SIGINT');
    proc.emit('SIGINT');
    expect(calls).toEqual(['SIGTERM']);
    expect(said[0]).toMatch(/^SIGTERM: stopping at the next safe point/);
    expect(said.slice(1).every((l) => l.startsWith('SIGINT again: already stopping'))).toBe(true);
    i.stop();
    expect(proc.listenerCount('SIGINT')).toBe(0);
  });
});
