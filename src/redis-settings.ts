// Where Redis is and how to reach it (README: Settings, Deployments): one node (REDIS_URL), a Sentinel-managed
// primary (REDIS_SENTINELS), or a Redis Cluster (REDIS_CLUSTER_NODES); the same credentials and
// TLS for every data node the client finds. Parsed once with the other settings (config.ts);
// TLS files are read here, so a missing one is a configuration error at start.
import { readFileSync } from 'node:fs';
import { maskUrl } from './masked-url.ts';

export interface HostPort {
  host: string;
  port: number;
}

export type RedisDeployment =
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword: string | undefined }
  | { mode: 'cluster'; nodes: HostPort[] };

/** PEM contents; `null` settings mean a plain connection. */
export interface RedisTls {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

export interface RedisSettings {
  deployment: RedisDeployment;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: RedisTls | null;
  /** For logs and messages: the URL (password masked), or the mode and its nodes. */
  description: string;
}

export interface RedisEnv {
  url: string;
  username: string | undefined;
  password: string | undefined;
  db: number;
  clusterNodes: string | undefined;
  sentinels: string | undefined;
  sentinelName: string;
  sentinelPassword: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

function hostPorts(name: string, raw: string, problems: string[]): HostPort[] {
  const nodes: HostPort[] = [];
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^\[?([\w.:-]+?)\]?:(\d{1,5})$/.exec(part);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65_535) problems.push(`${name}: expected comma-separated host:port pairs, like 10.0.0.1:6379,10.0.0.2:6379 (got "${part}")`);
    else nodes.push({ host: match[1]!, port });
  }
  if (nodes.length === 0 && problems.length === 0) problems.push(`${name}: expected at least one host:port`);
  return nodes;
}

function pem(name: string, path: string | undefined, problems: string[]): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');

export function parseRedisSettings(env: RedisEnv, problems: string[]): RedisSettings {
  let deployment: RedisDeployment = { mode: 'single', url: env.url };
  if (env.clusterNodes !== undefined && env.sentinels !== undefined) problems.push('REDIS_CLUSTER_NODES, REDIS_SENTINELS: set one of them, not both');
  else if (env.clusterNodes !== undefined) deployment = { mode: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', env.clusterNodes, problems) };
  else if (env.sentinels !== undefined) deployment = { mode: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', env.sentinels, problems), name: env.sentinelName, sentinelPassword: env.sentinelPassword };
  if (deployment.mode === 'cluster' && env.db !== 0) problems.push('REDIS_DB: must be 0 on Redis Cluster (it has one database)');
  if ((env.certFile === undefined) !== (env.keyFile === undefined)) problems.push('REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: give both (a client certificate and its key) or neither');

  const files = { ca: pem('REDIS_TLS_CA_FILE', env.caFile, problems), cert: pem('REDIS_TLS_CERT_FILE', env.certFile, problems), key: pem('REDIS_TLS_KEY_FILE', env.keyFile, problems) };
  const anyFile = env.caFile !== undefined || env.certFile !== undefined;
  // One node: TLS when the URL says rediss://. Sentinel and Cluster: when a TLS file is given.
  const tlsOn = deployment.mode === 'single' ? new URL(env.url).protocol === 'rediss:' || anyFile : anyFile;
  if (deployment.mode === 'single' && anyFile && new URL(env.url).protocol !== 'rediss:') problems.push('REDIS_URL: use rediss:// when REDIS_TLS_* files are given');

  const description =
    deployment.mode === 'single' ? maskUrl(env.url) : deployment.mode === 'cluster' ? `Redis Cluster ${list(deployment.nodes)}` : `Sentinel ${list(deployment.sentinels)} (primary "${deployment.name}")`;
  return { deployment, username: env.username, password: env.password, db: env.db, tls: tlsOn ? files : null, description };
}

/** One node at `url`, no TLS files: what tools and tests that name a Redis by URL want. */
export function singleNode(url: string, password?: string): RedisSettings {
  const problems: string[] = [];
  const settings = parseRedisSettings(
    { url, username: undefined, password, db: 0, clusterNodes: undefined, sentinels: undefined, sentinelName: 'mymaster', sentinelPassword: undefined, caFile: undefined, certFile: undefined, keyFile: undefined },
    problems,
  );
  if (problems.length > 0) throw new Error(problems.join('; '));
  return settings;
}
