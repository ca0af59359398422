// The run's Redis and PostgreSQL through a TCP proxy a test can cut (tcp-proxy.ts), reached
// with the URLs the global setup provides (TEST_REDIS_URL, TEST_DATABASE_URL): a password, user,
// database number or query in them reaches the client behind the proxy too.
import { inject } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const DEFAULT_PORTS: Record<string, number> = { 'redis:': 6379, 'rediss:': 6379, 'postgresql:': 5432, 'postgres:': 5432 };

export interface ServiceProxy extends TcpProxy {
  /** The service's URL with the proxy's host and port in it; everything else as given. */
  serviceUrl: string;
}

/** A TCP proxy in front of the host and port `url` names. */
export async function proxyInFrontOf(url: string): Promise<ServiceProxy> {
  const parsed = new URL(url);
  const port = Number(parsed.port) || DEFAULT_PORTS[parsed.protocol];
  if (!port) throw new Error(`${parsed.protocol} URL without a port, and no default port known for it`);
  const proxy = await startTcpProxy(port, parsed.hostname.replace(/^\[(.*)\]$/, '$1'));
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return Object.assign(proxy, { serviceUrl: parsed.toString() });
}

export const proxyInFrontOfRedis = () => proxyInFrontOf(inject('redisUrl'));
export const proxyInFrontOfPostgres = () => proxyInFrontOf(inject('databaseUrl'));
