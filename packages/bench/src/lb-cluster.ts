import cluster from 'node:cluster';

/**
 * Prototype: the balancer's unchanged main.js in N cluster workers sharing one listening port
 * (the primary accepts and hands connections out round-robin). Each worker has its own upstream
 * pool and health checker, so this is only a throughput experiment, not a design.
 * Usage: node dist/lb-cluster.js <workers> <lb main.js> [lb args...]   (env as for the balancer)
 */
const workers = Number(process.argv[2] ?? 2);
const main = process.argv[3];
if (!main || !(workers > 0)) {
  process.stderr.write('usage: lb-cluster <workers> <lb main.js> [args...]\n');
  process.exit(2);
}
cluster.setupPrimary({ exec: main, args: process.argv.slice(4) });
let stopping = false;
for (let i = 0; i < workers; i++) cluster.fork();
cluster.on('exit', (w, code) => {
  if (!stopping) {
    process.stderr.write(`lb-cluster: worker ${w.process.pid} exited (${code}); stopping\n`);
    stop();
  }
});
function stop(): void {
  stopping = true;
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  const t = setInterval(() => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  }, 50);
  setTimeout(() => process.exit(0), 5000).unref();
  t.unref();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
