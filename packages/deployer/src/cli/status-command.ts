import { asJournal, describeJournal } from '../journal/journal-data';
import type { DeployLockApi, DeployState } from '../lb-client/deploy-lock-api';
import type { LbAdmin, SplitEntry } from '../lb-client/lb-admin';
import type { Instance, Runtime } from '../runtime/runtime';

export interface LabStatus {
  balancer: string;
  upstreams: { name: string; url: string; state: string; inFlight: number; group: string; weight: number; version: string; role: 'slot' | 'helper' | 'unknown'; slot?: string }[];
  /** Slots the runtime knows with nothing running in them, or running but not in the balancer. */
  emptySlots: string[];
  unregistered: { slot: string; name: string; version: string }[];
  split: SplitEntry[] | null;
  lock: { holder: string; since: string; strategy: string; version: string; expired: boolean; expiresInMs: number; holderGone: boolean } | null;
  lastDeploy: { id: string; command: string; strategy: string; version: string; startedAt: string; endedAt?: string; outcome?: string; exitCode?: number; error?: string } | null;
  /** A deploy whose deployer is gone before it ended: the next deploy command (or --recover) repairs it. */
  needsRecovery: { id: string; description: string } | null;
  /** Routing changes made through the admin API outside a deploy (the last 10). */
  changesOutsideDeploys: DeployState['activity'];
  /** Pages the balancer serves (a dashboard, with its login URL). */
  pages: DeployState['pages'];
  /** When the runtime could not be asked (versions then show "?"). */
  runtimeError?: string;
}

/** Everything `deploy status` shows, from the balancer (routing, lock, journal) and the runtime (versions). */
export async function labStatus(
  lb: LbAdmin & DeployLockApi & { baseUrl: string; dashboardLoginUrl?: () => string },
  runtime: Runtime | undefined,
  host?: { name: string; isAlive: (pid: number) => boolean },
): Promise<LabStatus> {
  const [ups, split, st] = await Promise.all([lb.list(), lb.getSplit(), lb.deployState()]);
  const known = new Map<string, { inst: Instance; role: 'slot' | 'helper' }>();
  const emptySlots: string[] = [];
  let runtimeError: string | undefined;
  if (runtime) {
    try {
      for (const s of await runtime.slots()) {
        if (s.running) known.set(s.running.name, { inst: s.running, role: 'slot' });
        else emptySlots.push(s.slot);
      }
      for (const h of await runtime.helpers()) known.set(h.name, { inst: h, role: 'helper' });
    } catch (err) {
      runtimeError = (err as Error).message;
    }
  }
  const latest = st.journal ? asJournal(st.journal.data) : undefined;
  // A lock whose holder ran on this host and is gone is as good as lapsed.
  const holderGone = !!st.lock && !!host && st.lock.holder.host === host.name && !host.isAlive(st.lock.holder.pid);
  const lockHeldByLatest = st.lock && !st.lock.expired && !holderGone && st.journal && st.lock.id === st.journal.id;
  const ended = latest?.outcome ? st.journal : st.previousJournal;
  const endedData = ended ? asJournal(ended.data) : undefined;
  return {
    balancer: lb.baseUrl,
    upstreams: ups.map((u) => {
      const k = known.get(u.name);
      return { name: u.name, url: u.url, state: u.state, inFlight: u.inFlight, group: u.group, weight: u.weight, version: k?.inst.version ?? '?', role: k?.role ?? 'unknown', ...(k ? { slot: k.inst.slot } : {}) };
    }),
    emptySlots,
    unregistered: [...known.values()].filter((k) => k.role === 'slot' && !ups.some((u) => u.name === k.inst.name)).map((k) => ({ slot: k.inst.slot, name: k.inst.name, version: k.inst.version })),
    split,
    lock: st.lock && {
      holder: `${st.lock.holder.user}@${st.lock.holder.host} pid ${st.lock.holder.pid}`,
      since: st.lock.acquiredAt,
      strategy: st.lock.strategy,
      version: st.lock.version,
      expired: st.lock.expired,
      expiresInMs: st.lock.remainingMs,
      holderGone,
    },
    lastDeploy:
      ended && endedData
        ? {
            id: ended.id,
            command: endedData.command,
            strategy: endedData.strategy,
            version: endedData.version,
            startedAt: endedData.startedAt,
            ...(endedData.endedAt ? { endedAt: endedData.endedAt } : {}),
            ...(endedData.outcome ? { outcome: endedData.outcome } : {}),
            ...(endedData.exitCode !== undefined ? { exitCode: endedData.exitCode } : {}),
            ...(endedData.error ? { error: endedData.error } : {}),
          }
        : null,
    needsRecovery: latest && (!latest.outcome || latest.outcome === 'needs-operator') && !lockHeldByLatest ? { id: st.journal!.id, description: describeJournal(st.journal!.id, latest) } : null,
    changesOutsideDeploys: st.activity.slice(-10),
    pages: st.pages.map((p) => ({
      ...p,
      url: new URL(p.url, lb.baseUrl.endsWith('/') ? lb.baseUrl : `${lb.baseUrl}/`).href,
      ...(p.name === 'dashboard' && lb.dashboardLoginUrl ? { loginUrl: lb.dashboardLoginUrl() } : {}),
    })),
    ...(runtimeError ? { runtimeError } : {}),
  };
}

export function formatStatus(s: LabStatus): string {
  const lines = [`balancer admin API: ${s.balancer}`, 'upstreams:'];
  for (const u of s.upstreams) {
    lines.push(`  ${u.name.padEnd(22)} ${u.state.padEnd(10)} ${u.version.padEnd(8)} in-flight ${String(u.inFlight).padStart(3)}  group ${u.group}${u.role === 'slot' ? `  slot ${u.slot}` : u.role === 'helper' ? `  helper of ${u.slot}` : '  (no slot or helper of this lab)'}`);
  }
  if (s.upstreams.length === 0) lines.push('  (none)');
  for (const e of s.emptySlots) lines.push(`  slot ${e}: nothing running`);
  for (const u of s.unregistered) lines.push(`  slot ${u.slot}: ${u.name} (${u.version}) runs but is NOT in the balancer`);
  lines.push(`split: ${s.split ? s.split.map((g) => `${g.group} ${g.weight}`).join(', ') : 'none'}`);
  lines.push(
    `lock: ${s.lock ? `held by ${s.lock.holder} since ${s.lock.since} (${s.lock.strategy} ${s.lock.version}); ${s.lock.expired ? 'lease lapsed' : `lease ${(s.lock.expiresInMs / 1000).toFixed(1)} s`}${s.lock.holderGone ? '; its process is gone' : ''}` : 'free'}`,
  );
  const d = s.lastDeploy;
  lines.push(`last deploy: ${d ? `${d.command === 'recover' ? 'recovery' : `${d.strategy} of ${d.version}`} started ${d.startedAt}, ${d.outcome ?? 'no outcome'}${d.exitCode !== undefined ? ` (exit ${d.exitCode})` : ''}${d.error ? `: ${d.error}` : ''}` : 'none recorded'}`);
  lines.push(`needs recovery: ${s.needsRecovery ? `yes: ${s.needsRecovery.description} (the next deploy command repairs it; or npm run deploy -- --recover)` : 'no'}`);
  if (s.changesOutsideDeploys.length > 0) {
    lines.push('routing changes outside a deploy:');
    for (const a of s.changesOutsideDeploys) lines.push(`  ${a.at} ${a.method} ${a.path} -> ${a.status}${a.duringDeploy ? ' (while a deploy held the lock)' : ''}`);
  }
  lines.push(`pages: ${s.pages.length ? s.pages.map((p) => `${p.name} ${p.url}${p.loginUrl ? ` (login: ${p.loginUrl})` : ''}`).join(', ') : 'none'}`);
  if (s.runtimeError) lines.push(`runtime: ${s.runtimeError} (versions unknown)`);
  return lines.join('\n');
}
