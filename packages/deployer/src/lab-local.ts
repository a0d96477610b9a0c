import path from 'node:path';
import { dashboardLoginUrl } from './dashboard-login-url';
import { LocalLab } from './local-lab';

/**
 * npm run lab:local: the lab as local processes on the usual ports (balancer 8080, admin 8090,
 * instances 8081 and 8082), in the foreground until Ctrl-C. Deploy to it from another terminal:
 * npm run rolling-deploy -- --runtime local --version v2
 */
async function main(): Promise<void> {
  const lab = new LocalLab({ dir: path.resolve('.lab/local'), lbPort: 8080, adminPort: 8090, firstClientPort: 8081 });
  await lab.start();
  const s = lab.state;
  process.stdout.write(
    `local lab running: balancer http://127.0.0.1:${s.lb.port}, admin http://127.0.0.1:${s.lb.adminPort}\n` +
      `instances: ${Object.values(s.slots).map((p) => `${p.slot}=127.0.0.1:${p.port} (${p.version})`).join(', ')}\n` +
      `dashboard: ${dashboardLoginUrl(`http://127.0.0.1:${s.lb.adminPort}`, s.adminToken)}\n` +
      `logs in .lab/local/logs; deploy with: npm run rolling-deploy -- --runtime local --version v2\nCtrl-C stops everything.\n`,
  );
  const stop = () => void lab.stop().then(() => process.exit(0));
  process.once('exit', () => lab.killAllSync());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`lab:local: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
