import axios, { type AxiosInstance, AxiosError } from 'axios';
import { DeployError } from './deploy-error';
import { dashboardLoginUrl } from '../dashboard-login-url';
import type { TimelineEvent } from '../receipt/timeline-reporter';
import type { DrainResult, LbAdmin, SplitEntry, UpstreamStatus } from './lb-admin';

/** LbAdmin over the balancer's admin HTTP API (bearer token). */
export class HttpLbAdmin implements LbAdmin {
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

  private async call<T>(method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: unknown): Promise<T> {
    try {
      const r = await this.http.request<T>({ method, url: path, data: body });
      return r.data;
    } catch (err) {
      const e = err as AxiosError<{ error?: string }>;
      if (e.response) {
        const why = e.response.data?.error ?? e.message;
        throw new DeployError('DEPLOY_ERR_LB_REJECTED', `balancer answered ${e.response.status} to ${method.toUpperCase()} ${path}: ${why}`, { cause: err });
      }
      throw new DeployError('DEPLOY_ERR_LB_UNREACHABLE', `cannot reach the balancer's admin API at ${this.baseUrl} (${e.code ?? e.message})`, { cause: err });
    }
  }
}
