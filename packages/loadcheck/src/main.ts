#!/usr/bin/env node
import fs from 'node:fs';
import { LoadChecker } from './load-checker';
import { formatSummary, summarize } from './summarize';

const USAGE = `usage: npm run loadcheck -- [--url http://127.0.0.1:8080/api] [--rate 200] [--duration 10s] [--method GET|POST] [--body JSON] [--connections 64] [--json file]`;

function fail(msg: string): never {
  process.stderr.write(`loadcheck: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]) {
  const o = { url: 'http://127.0.0.1:8080/api', rate: 200, durationMs: 10_000, method: 'GET', body: undefined as unknown, connections: 64, json: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[++i];
    if (v === undefined) fail(`${flag}: needs a value`);
    switch (flag) {
      case '--url':
        try {
          const u = new URL(v);
          if (u.protocol !== 'http:') fail(`--url: only http:// is supported, got "${v}"`);
        } catch {
          fail(`--url: "${v}" is not a URL`);
        }
        o.url = v;
        break;
      case '--rate':
        o.rate = Number(v);
        if (!(o.rate > 0 && o.rate <= 100_000)) fail(`--rate: expected requests per second from 1 to 100000, got "${v}"`);
        break;
      case '--duration': {
        const m = /^(\d+)(ms|s|m)?$/.exec(v);
        if (!m) fail(`--duration: expected e.g. 500ms, 10s or 1m, got "${v}"`);
        o.durationMs = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
        break;
      }
      case '--method':
        o.method = v.toUpperCase();
        break;
      case '--body':
        try {
          o.body = JSON.parse(v);
        } catch {
          fail(`--body: not valid JSON: ${v}`);
        }
        break;
      case '--connections':
        o.connections = Number(v);
        if (!Number.isInteger(o.connections) || o.connections < 1) fail(`--connections: expected a positive integer, got "${v}"`);
        break;
      case '--json':
        o.json = v;
        break;
      default:
        fail(`unknown argument "${flag}"`);
    }
  }
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const lc = new LoadChecker({ url: o.url, rate: o.rate, method: o.method, body: o.body, connections: o.connections });
  process.stdout.write(`${o.method} ${o.url} at ${o.rate}/s for ${o.durationMs / 1000} s...\n`);
  lc.start();
  const progress = setInterval(() => {
    const s = summarize(lc.outcomes);
    process.stdout.write(`  ${(lc.elapsedMs / 1000).toFixed(0)} s: ${s.sent} answered, ${s.failed} failed\n`);
  }, 2000);
  await new Promise((r) => setTimeout(r, o.durationMs));
  clearInterval(progress);
  const outcomes = await lc.stop();
  const s = summarize(outcomes);
  process.stdout.write(formatSummary(s) + '\n');
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(s, null, 2) + '\n');
  process.exit(s.failed === 0 ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`loadcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
