import fs from 'node:fs';
import path from 'node:path';

export interface LocalProc {
  /** 0 while the spawn is only intended (see `token`). */
  pid: number;
  /** Recorded before the spawn and given to the process, so it can be found if the spawner dies before recording the pid. */
  token?: string;
  port: number;
  version: string;
  slot: string;
}

/** What a local lab is running, kept in a JSON file so a deploy from another terminal can find it. */
export interface LocalLabState {
  lb: { pid: number; port: number; adminPort: number };
  adminToken: string;
  /** Environment given to every instance (lab knobs). */
  clientEnv: Record<string, string>;
  slots: Record<string, LocalProc>;
  beside: Record<string, LocalProc>;
}

export class LocalStateFile {
  constructor(readonly file: string) {}

  get dir(): string {
    return path.dirname(this.file);
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  read(): LocalLabState {
    return JSON.parse(fs.readFileSync(this.file, 'utf8')) as LocalLabState;
  }

  write(state: LocalLabState): void {
    fs.mkdirSync(this.dir, { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
    fs.renameSync(tmp, this.file);
  }

  update(fn: (s: LocalLabState) => void): LocalLabState {
    const s = this.read();
    fn(s);
    this.write(s);
    return s;
  }

  remove(): void {
    fs.rmSync(this.file, { force: true });
  }
}
