import http from 'node:http';
import type { CheckResult } from '../pool/upstream';

/** One health check: GET `path` on a fresh connection (a pooled one could hide a dead host). */
export type Probe = (target: URL, path: string, timeoutMs: number) => Promise<CheckResult>;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

export const httpProbe: Probe = (target, path, timeoutMs) =>
  new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(
      { host: target.hostname, port: target.port, path, method: 'GET', agent: false, headers: { 'user-agent': 'zdl-lb-health' } },
      (res) => {
        res.resume();
        const ok = res.statusCode === 200;
        done({ ok, reason: `GET ${path} → ${res.statusCode}` });
      },
    );
    const timer = setTimeout(() => {
      done({ ok: false, reason: `GET ${path} timed out after ${timeoutMs} ms`, unreachable: true });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'ERROR';
      done({ ok: false, reason: `GET ${path} failed: ${code}`, unreachable: UNREACHABLE.has(code) });
    });
    req.end();
  });
