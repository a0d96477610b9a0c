#!/usr/bin/env node
/**
 * Deploy wall time of a replica set: `node packages/bench/dist/replica-deploy-bench.js [--replicas
 * 2,5,10] [--batch-size 1]` (after `npm run build`; Docker, and NODE_IMAGE where no registry is
 * reachable). Starts examples/any-service under its own compose project on free loopback ports,
 * and for each replica count scales the service to it, then times a rolling deploy of the other
 * version with the deployer's CLI under 50 GET/s (whose failures it counts). Prints one row per
 * count; everything it started is removed at the end (also on Ctrl-C).
 */
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LoadChecker, summarize } from '@zdl/loadcheck';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLE = path.join(ROOT, 'examples/any-service');
const COMPOSE_FILE = path.join(EXAMPLE, 'compose.yml');
const DEPLOYER = path.join(ROOT, 'packages/deployer/dist/main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readArgs(argv: string[]): { replicas: number[]; batchSize: number } {
  const out = { replicas: [2, 5, 10], batchSize: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--replicas') out.replicas = value.split(',').map(Number);
    else if (flag === '--batch-size') out.batchSize = Number(value);
    else throw new Error(`unknown argument "${flag}" (expected --replicas 2,5,10 or --batch-size n)`);
  }
  if (out.replicas.some((n) => !Number.isInteger(n) || n < 1 || n > 30)) throw new Error('--replicas: expected counts from 1 to 30, like 2,5,10');
  if (!Number.isInteger(out.batchSize) || out.batchSize < 1) throw new Error('--batch-size: expected a positive integer');
  return out;
}

async function main(): Promise<void> {
  const args = readArgs(process.argv.slice(2));
  const project = `zdl-bench-replicas-${Date.now().toString(36)}`;
  const token = crypto.randomBytes(16).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-bench-replicas-'));
  const envFile = path.join(dir, 'lab.env');
  const nodeImage = process.env.NODE_IMAGE ?? 'node:20-bookworm-slim';
  fs.writeFileSync(envFile, [`LB_PUBLISH=127.0.0.1::8080`, `LB_ADMIN_PUBLISH=127.0.0.1::8090`, `LB_ADMIN_TOKEN=${token}`, `NODE_IMAGE=${nodeImage}`].join('\n') + '\n');
  const compose = async (...a: string[]) => (await run('docker', ['compose', '-p', project, '-f', COMPOSE_FILE, '--env-file', envFile, ...a], { cwd: EXAMPLE })).stdout;
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    await compose('down', '-t', '2').catch(() => undefined);
    fs.rmSync(path.join(EXAMPLE, '.lab', 'compose', project), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanUp().then(() => process.exit(130)));

  try {
    for (const tag of ['b1', 'b2']) {
      await run('docker', ['build', '-q', '--build-arg', `NODE_IMAGE=${nodeImage}`, '--build-arg', `IMAGE_TAG=${tag}`, '-t', `zdl/example-web:${tag}`, EXAMPLE]);
    }
    await compose('up', '-d', '--build', '--wait');
    const lbUrl = `http://${(await compose('port', 'lb', '8080')).trim()}`;
    const adminUrl = `http://${(await compose('port', 'lb', '8090')).trim()}`;
    const healthy = async () => {
      const r = await fetch(`${adminUrl}/upstreams`, { headers: { authorization: `Bearer ${token}` } });
      return ((await r.json()) as { upstreams: { state: string }[] }).upstreams.filter((u) => u.state === 'healthy').length;
    };
    const rows: string[] = [];
    let tag = 'b1';
    for (const n of args.replicas) {
      // As a user would after a deploy: plain compose, which reads COMPOSE_FILE (the deployer's
      // override) from the env file, so the new replicas run the deployed image.
      await run('docker', ['compose', '-p', project, '--env-file', envFile, 'up', '-d', '--no-recreate', '--scale', `web=${n}`, 'web'], { cwd: EXAMPLE });
      for (let i = 0; i < 300 && (await healthy()) !== n; i++) await sleep(100);
      tag = tag === 'b1' ? 'b2' : 'b1';
      const load = new LoadChecker({ url: `${lbUrl}/`, rate: 50 });
      load.start();
      const began = Date.now();
      const code = await new Promise<number>((resolve) => {
        const child = spawn(
          process.execPath,
          [DEPLOYER, '--compose-file', COMPOSE_FILE, '--service', 'web', '--image', `zdl/example-web:${tag}`, '--batch-size', String(args.batchSize), '--project', project, '--env-file', envFile, '--admin-url', adminUrl, '--token', token, '--no-receipt'],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('close', (c) => {
          if (c !== 0) process.stderr.write(output);
          resolve(c ?? -1);
        });
      });
      const wallMs = Date.now() - began;
      const s = summarize(await load.stop());
      rows.push(`${String(n).padStart(8)}  ${String(args.batchSize).padStart(5)}  ${(wallMs / 1000).toFixed(1).padStart(7)} s  ${(wallMs / 1000 / n).toFixed(2).padStart(6)} s  ${String(s.sent).padStart(6)}  ${String(s.failed).padStart(6)}  ${code}`);
      process.stderr.write(`${n} replicas: ${(wallMs / 1000).toFixed(1)} s, exit ${code}\n`);
    }
    process.stdout.write(`rolling deploy of examples/any-service (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} at the end)\nreplicas  batch     wall   per replica    sent  failed  exit\n${rows.join('\n')}\n`);
  } finally {
    await cleanUp();
  }
}

main().catch((err) => {
  process.stderr.write(`replica-deploy-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
