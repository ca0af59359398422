// One factory for the Redis client of every deployment (README: Deployments): one node, a Sentinel-managed
// primary, or a Redis Cluster. The rest of the code holds a RedisClient and does not ask which:
// commands route by key in every mode (scripts name their keys, and keys share hash tags,
// sessions/session-keys.ts). What differs is behind the client's `deployment`:
//   - events: 'error', 'end' and 'ready' mean what they mean on one node (a cluster reports them
//     per node: any node failing is an error, any node ready again is 'ready');
//   - sendRouted(): a raw command routed by its key (rate-limit-redis's cluster recipe);
//   - primariesInfo(): INFO of every primary (the admin summary's memory);
//   - restart(): drop and reopen a connection that stopped answering (one node only: the
//     Sentinel and Cluster clients find the new primary themselves).
import { EventEmitter } from 'node:events';
import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisSettings, RedisTls } from './redis-settings.ts';

export interface Deployment {
  readonly mode: RedisSettings['deployment']['mode'];
  sendRouted(details: { key?: string | undefined; isReadOnly: boolean; command: string[] }): Promise<unknown>;
  primariesInfo(section: string): Promise<string[]>;
  restart(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;
const MAX_RECONNECT_DELAY_MS = 5_000;

/** Exponential backoff with jitter, capped: 50 ms, 100 ms, 200 ms … 5 s. */
function reconnectDelayMs(retries: number): number {
  const base = Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function tlsOptions(tls: RedisTls | null) {
  if (!tls) return {};
  return { tls: true as const, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) };
}

/**
 * What every connection to a data node gets. Commands fail at once while disconnected (no
 * offline queue). `timeout: 0` turns off node-redis's per-command timer: it only times the wait
 * to be written, never an answer; answerWithin() in redis-fallback.ts is the deadline that does.
 */
function nodeOptions(settings: RedisSettings, retry: boolean) {
  return {
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: retry ? reconnectDelayMs : (false as const), ...tlsOptions(settings.tls) },
  };
}

/**
 * REDIS_PASSWORD overrides a password in the URL (README: Settings). node-redis lets the URL's password
 * win over a `password` option, so the URL goes without it when REDIS_PASSWORD is set.
 */
function singleUrl(url: string, password: string | undefined): { url: string; username?: string } {
  if (!password) return { url };
  const parsed = new URL(url);
  const username = decodeURIComponent(parsed.username);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), ...(username ? { username } : {}) };
}

function buildSingle(settings: RedisSettings, url: string, retry: boolean) {
  const { url: bare, username } = singleUrl(url, settings.password);
  const options = nodeOptions(settings, retry);
  return createClient({ ...options, ...(username && !settings.username ? { username } : {}), url: bare, database: settings.db });
}

export type SingleClient = ReturnType<typeof buildSingle>;
/** The client every other module holds: a one-node client's interface, whatever the deployment. */
export type RedisClient = SingleClient & { readonly deployment: Deployment };

/**
 * A Sentinel or Cluster client behind the one-node interface: the same object, with the members
 * that differ replaced (events, sendCommand, deployment).
 */
function asClient(target: object, events: EventEmitter | null, deployment: Deployment, sendCommand: (args: string[]) => Promise<unknown>): RedisClient {
  const own: Record<PropertyKey, unknown> = { deployment, sendCommand };
  if (events) for (const name of ['on', 'once', 'off', 'removeListener', 'emit', 'listenerCount'] as const) own[name] = events[name].bind(events);
  return new Proxy(target, {
    get(object, prop) {
      if (prop in own) return own[prop];
      const value = Reflect.get(object, prop, object) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  }) as RedisClient;
}

/** The deployment's client; `retry: false` gives a one-attempt client (the start-up probe). */
export function buildRedisClient(settings: RedisSettings, retry = true): RedisClient {
  const { deployment } = settings;
  if (deployment.mode === 'single') {
    const client = buildSingle(settings, deployment.url, retry);
    const own: Deployment = {
      mode: 'single',
      sendRouted: ({ command }) => client.sendCommand(command),
      primariesInfo: async (section) => [await client.info(section)],
      restart: async () => {
        client.destroy();
        await client.connect();
      },
    };
    return Object.assign(client, { deployment: own });
  }
  if (deployment.mode === 'sentinel') {
    const sentinel = createSentinel({
      name: deployment.name,
      sentinelRootNodes: deployment.sentinels,
      nodeClientOptions: { ...nodeOptions(settings, retry), database: settings.db },
      sentinelClientOptions: { ...(deployment.sentinelPassword ? { password: deployment.sentinelPassword } : {}), socket: { connectTimeout: CONNECT_TIMEOUT_MS, ...tlsOptions(settings.tls) } },
      // Node errors reach the client's 'error' listeners (otherwise they are dropped in 6.3).
      passthroughClientErrorEvents: true,
    });
    const own: Deployment = {
      mode: 'sentinel',
      sendRouted: ({ isReadOnly, command }) => sentinel.sendCommand(isReadOnly, command),
      primariesInfo: async (section) => [await sentinel.info(section)],
      restart: async () => undefined,
    };
    return asClient(sentinel, null, own, (args) => sentinel.sendCommand(false, args));
  }
  const cluster = createCluster({
    rootNodes: deployment.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    defaults: nodeOptions(settings, retry),
    // A failed node's slots are looked up again after 1 s (not 5 s): writes resume sooner.
    topologyRefreshOnReconnectionAttemptStrategy: 1_000,
  } as Parameters<typeof createCluster>[0]);
  const events = new EventEmitter();
  cluster.on('error', (err: Error) => events.emit('error', err));
  cluster.on('node-error', (err: Error) => events.emit('error', err));
  cluster.on('node-disconnect', () => events.emit('end'));
  cluster.on('node-ready', () => events.emit('ready'));
  const own: Deployment = {
    mode: 'cluster',
    sendRouted: ({ key, isReadOnly, command }) => cluster.sendCommand(key, isReadOnly, command),
    primariesInfo: async (section) => Promise.all(cluster.masters.map(async (master) => (await cluster.nodeClient(master)).info(section))),
    restart: async () => undefined,
  };
  return asClient(cluster, events, own, (args) => cluster.sendCommand(undefined, false, args));
}
