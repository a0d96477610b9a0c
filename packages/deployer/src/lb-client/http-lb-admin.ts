import axios, { type AxiosInstance, AxiosError } from 'axios';
import { DeployError } from './deploy-error';
import { dashboardLoginUrl } from '../dashboard-login-url';
import type { TimelineEvent } from '../receipt/timeline-reporter';
import type { DeployLockApi, DeployState, LockAnswer, LockRequest, LockView } from './deploy-lock-api';
import type { DrainResult, LbAdmin, SplitEntry, UpstreamStatus } from './lb-admin';

/** Header that fences a deployer's calls to its lock (the balancer refuses them once the lock is lost). */
export const LOCK_HEADER = 'x-deploy-lock';

/** LbAdmin and the deploy lock over the balancer's admin HTTP API (bearer token). */
export class HttpLbAdmin implements LbAdmin, DeployLockApi {
  private readonly http: AxiosInstance;

  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {
    this.http = axios.create({
      baseURL: baseUrl,
      timeout: 120_000,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      // Plain sockets: a deploy makes few calls and must not keep the balancer's admin port busy.
      proxy: false,
    });
  }

  async list(): Promise<UpstreamStatus[]> {
    return (await this.call<{ upstreams: UpstreamStatus[] }>('get', '/upstreams')).upstreams;
  }

  /** The upstreams with what the balancer's DNS discovery holds for each `{dns, port}` entry. */
  discoveryView(): Promise<{ upstreams: UpstreamStatus[]; discovery: { dns: string; port: number; addresses: string[]; error?: string }[] }> {
    return this.call('get', '/upstreams');
  }

  async get(name: string): Promise<UpstreamStatus | undefined> {
    try {
      return await this.call<UpstreamStatus>('get', `/upstreams/${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof DeployError && /\b404\b/.test(err.message)) return undefined;
      throw err;
    }
  }

  add(upstream: { url: string; name: string; enabled: boolean; group?: string; version?: string }): Promise<UpstreamStatus> {
    return this.call('post', '/upstreams', upstream);
  }

  patch(name: string, change: { group?: string; weight?: number; version?: string }): Promise<UpstreamStatus> {
    return this.call('patch', `/upstreams/${encodeURIComponent(name)}`, change);
  }

  async setSplit(groups: SplitEntry[] | null): Promise<void> {
    if (groups) await this.call('put', '/split', { groups });
    else await this.call('delete', '/split');
  }

  async getSplit(): Promise<SplitEntry[] | null> {
    return (await this.call<{ groups: SplitEntry[] | null }>('get', '/split')).groups;
  }

  metrics(): Promise<string> {
    return this.call<string>('get', '/metrics');
  }

  drain(name: string, waitMs: number): Promise<DrainResult> {
    return this.call('post', `/upstreams/${encodeURIComponent(name)}/drain?waitMs=${waitMs}`);
  }

  enable(name: string): Promise<UpstreamStatus> {
    return this.call('post', `/upstreams/${encodeURIComponent(name)}/enable`);
  }

  remove(name: string, waitMs: number): Promise<DrainResult> {
    return this.call('delete', `/upstreams/${encodeURIComponent(name)}?waitMs=${waitMs}`);
  }

  /** The URL that logs a browser into the balancer's dashboard (carries the token: for the terminal only). */
  dashboardLoginUrl(): string {
    return dashboardLoginUrl(this.baseUrl, this.token);
  }

  /** Posts one step of the running deploy to the dashboard's timeline (short timeout: it is for people). */
  readonly postTimeline = async (event: TimelineEvent): Promise<void> => {
    await this.http.post('/dashboard/timeline', event, { timeout: 2000 });
  };

  deployState(): Promise<DeployState> {
    return this.call('get', '/deploy');
  }

  acquireLock(r: LockRequest): Promise<LockAnswer> {
    return this.lockCall('post', '/deploy/lock', r);
  }

  renewLock(id: string): Promise<LockAnswer> {
    return this.lockCall('post', '/deploy/lock/renew', { id }, 3000);
  }

  releaseLock(id: string): Promise<LockAnswer> {
    return this.lockCall('delete', `/deploy/lock?id=${encodeURIComponent(id)}`);
  }

  writeJournal(id: string, journal: object): Promise<LockAnswer> {
    return this.lockCall('put', '/deploy/journal', { id, journal }, 10_000);
  }

  useLock(id: string | undefined): void {
    if (id) this.http.defaults.headers.common[LOCK_HEADER] = id;
    else delete this.http.defaults.headers.common[LOCK_HEADER];
  }

  /** A 409 about the lock is an answer, not an error: the caller decides (wait, take over, stop). */
  private async lockCall(method: 'post' | 'put' | 'delete', path: string, body?: unknown, timeout?: number): Promise<LockAnswer> {
    try {
      const r = await this.http.request<{ lock: LockView }>({ method, url: path, data: body, ...(timeout ? { timeout } : {}) });
      return { ok: true, lock: r.data.lock };
    } catch (err) {
      const e = err as AxiosError<{ error?: string; code?: string; lock?: LockView | null }>;
      if (e.response?.status === 409 && e.response.data?.code) {
        return { ok: false, code: e.response.data.code, message: e.response.data.error ?? '', lock: e.response.data.lock ?? null };
      }
      throw this.failure(err, method, path);
    }
  }

  private async call<T>(method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: unknown): Promise<T> {
    try {
      const r = await this.http.request<T>({ method, url: path, data: body });
      return r.data;
    } catch (err) {
      throw this.failure(err, method, path);
    }
  }

  private failure(err: unknown, method: string, path: string): DeployError {
    const e = err as AxiosError<{ error?: string; code?: string }>;
    if (e.response) {
      const why = e.response.data?.error ?? e.message;
      // Our lock was taken over (--force, or our lease lapsed): stop changing anything.
      if (e.response.data?.code === 'LB_DEPLOY_LOCK_LOST') return new DeployError('DEPLOY_ERR_LOCK_LOST', `the deploy lock was taken from this deployer: ${why}`, { cause: err });
      return new DeployError('DEPLOY_ERR_LB_REJECTED', `balancer answered ${e.response.status} to ${method.toUpperCase()} ${path}: ${why}`, { cause: err });
    }
    return new DeployError('DEPLOY_ERR_LB_UNREACHABLE', `cannot reach the balancer's admin API at ${this.baseUrl} (${e.code ?? e.message})`, { cause: err });
  }
}
