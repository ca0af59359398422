// Real Redis deployments of a test's own, made from the machine's redis-server on free loopback
// ports: a Redis Cluster with replicas, a primary + replica watched by three Sentinels, and a
// TLS-only server with a private CA. Every process is stopped by its PID (and killed if the test
// process exits first); every temp dir is removed. Readiness and failover are polled with a
// bounded deadline, never slept for.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const HOST = '127.0.0.1';
const POLL_MS = 100;
/** One server answering PING (or a Sentinel its config) takes well under this on a 2-core box. */
const PROCESS_READY_TIMEOUT_MS = 10_000;
/** Creating a cluster and letting gossip settle, or Sentinels finding each other (hello every 2 s). */
const DEPLOYMENT_READY_TIMEOUT_MS = 30_000;
const FAILOVER_TIMEOUT_MS = 30_000;
/** A stopped server that ignores SIGTERM this long is killed: stop() must not hang a test. */
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 4_000;

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/**
 * `count` distinct free loopback ports. Unlike calling freePort() (scripts/lib/server-process.ts)
 * `count` times, every listener is held open until all are taken, so the kernel cannot hand the
 * same port out twice. A cluster needs this: each node wants a client port AND a bus port, and
 * the default bus port (port + 10000) overflows 65535 for ports from the ephemeral range.
 */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(servers.map((server) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve))));
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal RESP client. The helpers ask servers about themselves (CLUSTER NODES, INFO, ROLE,
// SENTINEL ...) over one short-lived connection per question: no client library, so no
// handshake commands (HELLO, CLIENT SETINFO) that a Sentinel or an old server might refuse, no
// reconnects and no offline queue to hide a dead server.
// ---------------------------------------------------------------------------------------------

export type RespValue = string | number | null | RespValue[];

export class RespError extends Error {}

export interface Endpoint {
  port: number;
  password?: string | undefined;
  /** TLS options (ca, cert, key): the endpoint speaks TLS only. */
  tls?: ConnectionOptions | undefined;
}

/** Parses one RESP2 reply at `offset`; undefined when `buffer` does not hold all of it yet. */
function parseReply(buffer: Buffer, offset: number): { value: RespValue | RespError; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return { value: buffer.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < length; i++) {
        const item = parseReply(buffer, next);
        if (!item) return undefined;
        // An error inside an array (EXEC) is kept as its message; nothing here needs more.
        items.push(item.value instanceof RespError ? item.value.message : item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

const encodeCommand = (args: readonly string[]) =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;

/**
 * Sends `args` to the server on `endpoint.port` (after AUTH when it has a password) and resolves
 * with the reply; rejects on an error reply, a refused or reset connection, or after `timeoutMs`.
 */
export function redisCommand(endpoint: Endpoint, args: readonly string[], timeoutMs = 2_000): Promise<RespValue> {
  const commands = endpoint.password === undefined ? [args] : [['AUTH', endpoint.password], args];
  return new Promise((resolve, reject) => {
    const socket: Socket = endpoint.tls
      ? tlsConnect({ host: HOST, port: endpoint.port, ...endpoint.tls })
      : netConnect(endpoint.port, HOST);
    let buffer = Buffer.alloc(0);
    const replies: Array<RespValue | RespError> = [];
    const finish = (error: Error | undefined, value?: RespValue) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no reply from ${HOST}:${endpoint.port} to ${args[0]} within ${timeoutMs} ms`)));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${HOST}:${endpoint.port} closed the connection before replying to ${args[0]}`)));
    socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      let parsed;
      while (replies.length < commands.length && (parsed = parseReply(buffer, 0))) {
        replies.push(parsed.value);
        buffer = buffer.subarray(parsed.next);
      }
      if (replies.length < commands.length) return;
      const failed = replies.find((reply): reply is RespError => reply instanceof RespError);
      if (failed) finish(failed);
      else finish(undefined, replies.at(-1) as RespValue);
    });
  });
}

async function redisString(endpoint: Endpoint, args: readonly string[]): Promise<string> {
  const reply = await redisCommand(endpoint, args);
  if (typeof reply !== 'string') throw new Error(`${args.join(' ')} on port ${endpoint.port} replied ${JSON.stringify(reply)}, not a string`);
  return reply;
}

/** `field:value` lines of INFO / CLUSTER INFO as a map. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Calls `probe` until it returns a value other than undefined; throws `describe()` after `timeoutMs`. */
async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, describe: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      // A server that is still starting, or dead during a failover, refuses: that is "not yet".
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what} did not happen within ${timeoutMs} ms${cause}\n${describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/**
 * What to do if the test process exits with deployments still up (a test that timed out): one
 * 'exit' listener for all of them, not one per process, which a few clusters at once would push
 * past Node's MaxListeners warning. Returns the function that unregisters `cleanup`.
 */
const exitCleanups = new Set<() => void>();
function onProcessExit(cleanup: () => void): () => void {
  if (exitCleanups.size === 0) process.once('exit', runExitCleanups);
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
    if (exitCleanups.size === 0) process.removeListener('exit', runExitCleanups);
  };
}
function runExitCleanups() {
  // Order does not matter: the SIGKILLs are sent synchronously, and a dir removed under a server
  // that is still dying is harmless on Linux.
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is going away either way.
    }
  }
  exitCleanups.clear();
}

/** One redis-server process (a data node or a Sentinel), stopped by its PID. */
export interface RedisProcess {
  port: number;
  pid: number;
  /** kill -9: no shutdown, no goodbye to replicas or Sentinels, as a crash. */
  kill: () => Promise<void>;
}

interface ManagedProcess extends RedisProcess {
  alive: () => boolean;
  /** SIGTERM, then SIGKILL if it has not exited after STOP_GRACE_MS. */
  stop: () => Promise<void>;
  /** The tail of its log file, for error messages. */
  logTail: () => string;
}

/**
 * Starts `redis-server args…` logging to `logFile`. Resolves once the process has spawned (not
 * once it answers: each deployment waits for its own idea of ready). Output goes to a log file
 * rather than a pipe so nothing has to drain it and it can be quoted when something fails.
 */
async function spawnRedis(port: number, args: string[], logFile: string): Promise<ManagedProcess> {
  const child: ChildProcess = spawn('redis-server', [...args, '--logfile', logFile], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  // Not left running when the test process ends first (a test that timed out).
  const forgetOnExit = onProcessExit(() => {
    if (alive()) child.kill('SIGKILL');
  });
  const signal = async (name: NodeJS.Signals, graceMs?: number) => {
    forgetOnExit();
    if (alive()) process.kill(child.pid!, name);
    if (graceMs === undefined) return exited;
    const timer = setTimeout(() => alive() && process.kill(child.pid!, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    pid: child.pid!,
    alive,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM', STOP_GRACE_MS),
    logTail: () => {
      try {
        return readFileSync(logFile, 'utf8').slice(-LOG_TAIL_CHARS);
      } catch {
        return '(no log)';
      }
    },
  };
}

/** Waits until the process on `port` answers PING with a Redis reply (NOAUTH counts). */
async function waitForPing(proc: ManagedProcess, tls?: ConnectionOptions): Promise<void> {
  await pollUntil(`redis-server on port ${proc.port} answering PING`, PROCESS_READY_TIMEOUT_MS, async () => {
    if (!proc.alive()) throw new Error(`redis-server on port ${proc.port} exited:\n${proc.logTail()}`);
    try {
      await redisCommand({ port: proc.port, tls }, ['PING'], 1_000);
    } catch (error) {
      if (!(error instanceof RespError)) throw error;
    }
    return true;
  }, proc.logTail);
}

/** A temp dir removed by the deployment's stop(), or when the test process exits first. */
function makeTempRoot(prefix: string): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(root, { recursive: true, force: true });
  const forgetOnExit = onProcessExit(remove);
  return {
    root,
    remove: () => {
      forgetOnExit();
      remove();
    },
  };
}

/** Stops every process (already-dead ones are fine), then removes the temp dir. Safe to call twice. */
function stopper(procs: () => ManagedProcess[], removeDir: () => void): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= Promise.allSettled(procs().map((proc) => proc.stop())).then(removeDir);
    return stopping;
  };
}

/** Runs `start`; if it throws, stops what it started (its `cleanup`) before rethrowing. */
async function startOrCleanUp<T>(cleanup: () => Promise<void>, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await cleanup();
    throw error;
  }
}

const persistenceOff = ['--save', '', '--appendonly', 'no'];
const passwordArgs = (password: string | undefined) => (password === undefined ? [] : ['--requirepass', password, '--masterauth', password]);

// ---------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a master may be silent before it is failed over. */
  nodeTimeoutMs?: number;
  password?: string;
}

export interface TestRedisCluster {
  nodes: RedisProcess[];
  /** `127.0.0.1:port` of the masters at creation, comma-separated. */
  seeds: string;
  password: string | undefined;
  /** Ports of the masters that serve slots now, as CLUSTER NODES tells it. */
  masterPorts: () => Promise<number[]>;
  /** Port of the master that serves the slot of `key` now. */
  masterFor: (key: string) => Promise<number>;
  /** SIGKILLs the node on `port` (remembering which slots it served, for waitForFailover). */
  killMaster: (port: number) => Promise<void>;
  /**
   * Resolves with the port of the node that took over the slots `oldPort` served, once every
   * live node says so and reports cluster_state:ok.
   */
  waitForFailover: (oldPort: number, timeoutMs?: number) => Promise<number>;
  stop: () => Promise<void>;
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: Set<string>;
  masterId: string;
  /** [from, to] ranges, inclusive; slots being imported/migrated (`[…]`) are left out. */
  slots: Array<[number, number]>;
}

/** `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>…` */
function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slotFields] = line.trim().split(' ');
      const port = Number(address.split('@')[0]?.split(':').at(-1));
      const slots = slotFields
        .filter((field) => !field.startsWith('['))
        .map((field): [number, number] => {
          const [from, to = from] = field.split('-').map(Number);
          return [from!, to!];
        });
      return { id, port, flags: new Set(flags.split(',')), masterId, slots };
    });
}

const servesSlot = (node: ClusterNodeLine, slot: number) => node.slots.some(([from, to]) => slot >= from && slot <= to);
const isLiveMaster = (node: ClusterNodeLine) => node.flags.has('master') && !node.flags.has('fail') && !node.flags.has('fail?');

export async function startRedisCluster({
  masters = 3,
  replicasPerMaster = 1,
  nodeTimeoutMs = 1_000,
  password,
}: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  const count = masters * (1 + replicasPerMaster);
  const { root, remove } = makeTempRoot('redis-cluster-');
  const procs: ManagedProcess[] = [];
  const stop = stopper(() => procs, remove);
  const endpoint = (port: number): Endpoint => ({ port, password });
  const live = () => procs.filter((proc) => proc.alive());

  const clusterNodes = async (): Promise<ClusterNodeLine[]> => {
    // Ask the first live node that answers: any node's view will do for a question about now.
    let lastError: unknown = new Error('no cluster node is running');
    for (const proc of live()) {
      try {
        return parseClusterNodes(await redisString(endpoint(proc.port), ['CLUSTER', 'NODES']));
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };
  const logs = () => procs.map((proc) => `--- node ${proc.port} ---\n${proc.logTail()}`).join('\n');
  /** Slots each killed node served just before it was killed. */
  const slotsOfKilled = new Map<number, Array<[number, number]>>();
  const killNode = async (proc: ManagedProcess) => {
    const self = await clusterNodes().then((lines) => lines.find((line) => line.port === proc.port), () => undefined);
    if (self && self.slots.length > 0) slotsOfKilled.set(proc.port, self.slots);
    await proc.kill();
  };

  return startOrCleanUp(stop, async () => {
    const ports = await freePorts(count * 2);
    for (let i = 0; i < count; i++) {
      const port = ports[2 * i]!;
      const busPort = ports[2 * i + 1]!;
      const dir = mkdtempSync(join(root, `node-${port}-`));
      procs.push(
        await spawnRedis(port, [
          '--port', String(port),
          '--bind', HOST,
          '--cluster-enabled', 'yes',
          // Explicit: the default (port + 10000) is past 65535 for a port from the ephemeral range.
          '--cluster-port', String(busPort),
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', String(nodeTimeoutMs),
          // The default already, spelled out: a replica must take over when its master dies.
          '--cluster-replica-no-failover', 'no',
          ...persistenceOff,
          '--dir', dir,
          ...passwordArgs(password),
        ], join(dir, 'redis.log')),
      );
    }
    await Promise.all(procs.map((proc) => waitForPing(proc)));

    // redis-cli makes the first `masters` addresses masters and the rest their replicas.
    await execFileAsync('redis-cli', [
      ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
      '--cluster', 'create',
      ...procs.map((proc) => `${HOST}:${proc.port}`),
      '--cluster-replicas', String(replicasPerMaster),
      '--cluster-yes',
    ], { timeout: DEPLOYMENT_READY_TIMEOUT_MS }).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`redis-cli --cluster create failed: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}\n${logs()}`);
    });

    // redis-cli returns once the configuration is consistent from its point of view; a test
    // (and a failover) needs every node to know every other, every slot covered everywhere, and
    // every replica to hold a copy of its master (a replica that never synced is not elected).
    await pollUntil('the cluster settling (cluster_state:ok on every node, all nodes known, replicas in sync)', DEPLOYMENT_READY_TIMEOUT_MS, async () => {
      for (const proc of procs) {
        const info = parseInfo(await redisString(endpoint(proc.port), ['CLUSTER', 'INFO']));
        if (info.get('cluster_state') !== 'ok') return undefined;
        if (info.get('cluster_slots_ok') !== '16384') return undefined;
        if (info.get('cluster_known_nodes') !== String(count)) return undefined;
        const replication = parseInfo(await redisString(endpoint(proc.port), ['INFO', 'replication']));
        if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') return undefined;
        if (replication.get('role') === 'master' && replication.get('connected_slaves') !== String(replicasPerMaster)) return undefined;
      }
      return true;
    }, logs);

    const masterPorts = async () =>
      (await clusterNodes())
        .filter((node) => isLiveMaster(node) && node.slots.length > 0)
        .map((node) => node.port)
        .sort((a, b) => a - b);

    const masterFor = async (key: string) => {
      const someNode = live()[0];
      if (!someNode) throw new Error('no cluster node is running');
      const slot = await redisCommand(endpoint(someNode.port), ['CLUSTER', 'KEYSLOT', key]);
      if (typeof slot !== 'number') throw new Error(`CLUSTER KEYSLOT replied ${JSON.stringify(slot)}`);
      const owner = (await clusterNodes()).find((node) => isLiveMaster(node) && servesSlot(node, slot));
      if (!owner) throw new Error(`no live master serves slot ${slot} (of key ${JSON.stringify(key)})`);
      return owner.port;
    };

    const killMaster = async (port: number) => {
      const proc = procs.find((candidate) => candidate.port === port);
      if (!proc) throw new Error(`no cluster node on port ${port}`);
      await killNode(proc);
    };

    const waitForFailover = async (oldPort: number, timeoutMs = FAILOVER_TIMEOUT_MS) => {
      const slots = slotsOfKilled.get(oldPort);
      if (!slots) throw new Error(`node ${oldPort} was not killed as a master through this helper, so which slots to watch is unknown`);
      const slot = slots[0]![0];
      return pollUntil(`a replica taking over slot ${slot} from ${oldPort} (cluster_state:ok on every live node)`, timeoutMs, async () => {
        let newPort: number | undefined;
        for (const proc of live()) {
          const info = parseInfo(await redisString(endpoint(proc.port), ['CLUSTER', 'INFO']));
          if (info.get('cluster_state') !== 'ok') return undefined;
          const nodes = parseClusterNodes(await redisString(endpoint(proc.port), ['CLUSTER', 'NODES']));
          const owner = nodes.find((node) => isLiveMaster(node) && servesSlot(node, slot));
          // Every live node must agree on the new owner: a client may ask any of them.
          if (!owner || owner.port === oldPort || (newPort !== undefined && owner.port !== newPort)) return undefined;
          newPort = owner.port;
        }
        return newPort;
      }, logs);
    };

    const seeds = (await masterPorts()).map((port) => `${HOST}:${port}`).join(',');
    return {
      nodes: procs.map((proc) => ({ port: proc.port, pid: proc.pid, kill: () => killNode(proc) })),
      seeds,
      password,
      masterPorts,
      masterFor,
      killMaster,
      waitForFailover,
      stop,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------------------------

export interface SentinelSetOptions {
  name?: string;
  /** requirepass/masterauth of the data nodes (and `sentinel auth-pass` for the Sentinels). */
  password?: string;
  /** requirepass of the Sentinels themselves (and `sentinel sentinel-pass` between them). */
  sentinelPassword?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

export interface TestSentinelSet {
  /** `127.0.0.1:port` of the three Sentinels, comma-separated. */
  sentinels: string;
  sentinelPorts: number[];
  name: string;
  password: string | undefined;
  sentinelPassword: string | undefined;
  /** The data nodes (primary first, at start) and the Sentinels, for killing one directly. */
  processes: RedisProcess[];
  /** The primary's port as a Sentinel names it now. */
  primaryPort: () => Promise<number>;
  /** SIGKILLs the current primary; resolves with its port. */
  killPrimary: () => Promise<number>;
  /** Resolves with the new primary's port once every live Sentinel names one other than `oldPort` and it answers ROLE as master. */
  waitForFailover: (oldPort: number, timeoutMs?: number) => Promise<number>;
  stop: () => Promise<void>;
}

export async function startSentinelSet({
  name = 'mymaster',
  password,
  sentinelPassword,
  downAfterMs = 1_000,
  failoverTimeoutMs = 3_000,
}: SentinelSetOptions = {}): Promise<TestSentinelSet> {
  const { root, remove } = makeTempRoot('redis-sentinel-');
  const dataProcs: ManagedProcess[] = [];
  const sentinelProcs: ManagedProcess[] = [];
  const stop = stopper(() => [...sentinelProcs, ...dataProcs], remove);
  const dataEndpoint = (port: number): Endpoint => ({ port, password });
  const sentinelEndpoint = (port: number): Endpoint => ({ port, password: sentinelPassword });
  const logs = () => [...dataProcs, ...sentinelProcs].map((proc) => `--- ${proc.port} ---\n${proc.logTail()}`).join('\n');

  return startOrCleanUp(stop, async () => {
    const [primaryPort, replicaPort, ...sentinelPorts] = await freePorts(5);
    const dataNode = async (port: number, extra: string[]) => {
      const dir = mkdtempSync(join(root, `data-${port}-`));
      const proc = await spawnRedis(port, ['--port', String(port), '--bind', HOST, ...persistenceOff, '--dir', dir, ...passwordArgs(password), ...extra], join(dir, 'redis.log'));
      dataProcs.push(proc);
      return proc;
    };
    const primary = await dataNode(primaryPort!, []);
    await waitForPing(primary);
    const replica = await dataNode(replicaPort!, ['--replicaof', HOST, String(primaryPort)]);
    await waitForPing(replica);
    await pollUntil('the replica in sync (master_link_status:up)', DEPLOYMENT_READY_TIMEOUT_MS, async () => {
      const replication = parseInfo(await redisString(dataEndpoint(replicaPort!), ['INFO', 'replication']));
      return replication.get('master_link_status') === 'up' ? true : undefined;
    }, logs);

    for (const port of sentinelPorts) {
      const dir = mkdtempSync(join(root, `sentinel-${port}-`));
      // A Sentinel rewrites its config file (its myid, the replicas and Sentinels it found, the
      // current epoch), so each gets its own writable file, never a shared or read-only one.
      const configFile = join(dir, 'sentinel.conf');
      writeFileSync(configFile, [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${password}`]),
        // A Sentinel with requirepass also needs the password to talk to its peers.
        ...(sentinelPassword === undefined ? [] : [`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`]),
        '',
      ].join('\n'));
      sentinelProcs.push(await spawnRedis(port, [configFile, '--sentinel'], join(dir, 'sentinel.log')));
    }
    await Promise.all(sentinelProcs.map((proc) => waitForPing(proc)));

    // Each Sentinel must see the primary up, the replica, and both other Sentinels (found over
    // the primary's hello channel, every 2 s), or a failover has no quorum or no candidate.
    await pollUntil('every Sentinel seeing the primary, the replica and the other two Sentinels', DEPLOYMENT_READY_TIMEOUT_MS, async () => {
      for (const port of sentinelPorts) {
        const master = await redisCommand(sentinelEndpoint(port), ['SENTINEL', 'MASTER', name]);
        const fields = flatPairs(master);
        if (fields.get('flags') !== 'master') return undefined;
        if (fields.get('num-other-sentinels') !== String(sentinelPorts.length - 1)) return undefined;
        const replicas = await redisCommand(sentinelEndpoint(port), ['SENTINEL', 'REPLICAS', name]);
        const known = Array.isArray(replicas) ? replicas.map(flatPairs) : [];
        const ok = known.some((r) => r.get('port') === String(replicaPort) && r.get('flags') === 'slave' && r.get('master-link-status') === 'ok');
        if (!ok) return undefined;
      }
      return true;
    }, logs);

    const askSentinels = async (): Promise<Array<number | undefined>> =>
      Promise.all(
        sentinelProcs.filter((proc) => proc.alive()).map(async (proc) => {
          const reply = await redisCommand(sentinelEndpoint(proc.port), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]).catch(() => null);
          return Array.isArray(reply) && typeof reply[1] === 'string' ? Number(reply[1]) : undefined;
        }),
      );

    const currentPrimary = async () => {
      const answers = await askSentinels();
      const port = answers.find((answer) => answer !== undefined);
      if (port === undefined) throw new Error(`no Sentinel names a primary for ${name}`);
      return port;
    };

    const killPrimary = async () => {
      const port = await currentPrimary();
      const proc = dataProcs.find((candidate) => candidate.port === port);
      if (!proc) throw new Error(`the Sentinels name ${port} as primary, which is none of this set's servers`);
      await proc.kill();
      return port;
    };

    const waitForFailover = (oldPort: number, timeoutMs = FAILOVER_TIMEOUT_MS) =>
      pollUntil(`the Sentinels promoting a primary other than ${oldPort}`, timeoutMs, async () => {
        const answers = await askSentinels();
        const newPort = answers[0];
        // Every live Sentinel must agree: a client may ask any of them.
        if (newPort === undefined || newPort === oldPort || answers.some((answer) => answer !== newPort)) return undefined;
        const role = await redisCommand(dataEndpoint(newPort), ['ROLE']);
        return Array.isArray(role) && role[0] === 'master' ? newPort : undefined;
      }, logs);

    return {
      sentinels: sentinelPorts.map((port) => `${HOST}:${port}`).join(','),
      sentinelPorts: sentinelPorts,
      name,
      password,
      sentinelPassword,
      processes: [...dataProcs, ...sentinelProcs].map((proc) => ({ port: proc.port, pid: proc.pid, kill: proc.kill })),
      primaryPort: currentPrimary,
      killPrimary,
      waitForFailover,
      stop,
    };
  });
}

/** SENTINEL MASTER/REPLICAS give flat [field, value, field, value, …] arrays (RESP2). */
function flatPairs(reply: RespValue): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  return fields;
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

export interface TlsRedisOptions {
  /** tls-auth-clients yes: a client without a certificate signed by the CA is refused. */
  requireClientCert?: boolean;
  password?: string;
}

export interface TestTlsRedis {
  port: number;
  pid: number;
  /** rediss://127.0.0.1:port (no credentials in it). */
  url: string;
  password: string | undefined;
  /** The CA that signed the server's and the client's certificates. */
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A second CA that signed nothing here: trusting only it, the server's certificate does not verify. */
  otherCaFile: string;
  stop: () => Promise<void>;
}

// Our own config, not the system openssl.cnf: its defaults (and whether -addext collides with
// them) differ between distributions. The server certificate carries 127.0.0.1 and localhost as
// SANs because Node checks the SAN, not the CN, when there is one.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

async function openssl(dir: string, args: string[]): Promise<void> {
  await execFileAsync('openssl', args, { cwd: dir, timeout: 30_000 }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`openssl ${args.join(' ')} failed: ${error.message}\n${error.stderr ?? ''}`);
  });
}

/** A P-256 key: as good as RSA for a test and generated in milliseconds, not seconds. */
const newKey = (dir: string, file: string) => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);

async function makeCa(dir: string, base: string, commonName: string): Promise<void> {
  await newKey(dir, `${base}.key`);
  await openssl(dir, ['req', '-config', 'openssl.cnf', '-x509', '-new', '-key', `${base}.key`, '-subj', `/CN=${commonName}`, '-days', '2', '-extensions', 'ca_ext', '-out', `${base}.crt`]);
}

async function makeSignedCert(dir: string, base: string, commonName: string, extensions: string): Promise<void> {
  await newKey(dir, `${base}.key`);
  await openssl(dir, ['req', '-config', 'openssl.cnf', '-new', '-key', `${base}.key`, '-subj', `/CN=${commonName}`, '-out', `${base}.csr`]);
  await openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', 'openssl.cnf', '-extensions', extensions, '-out', `${base}.crt`]);
}

export async function startTlsRedis({ requireClientCert = false, password }: TlsRedisOptions = {}): Promise<TestTlsRedis> {
  const { root, remove } = makeTempRoot('redis-tls-');
  const procs: ManagedProcess[] = [];
  const stop = stopper(() => procs, remove);
  return startOrCleanUp(stop, async () => {
    writeFileSync(join(root, 'openssl.cnf'), OPENSSL_CONFIG);
    await makeCa(root, 'ca', 'redis-topologies test CA');
    await makeCa(root, 'other-ca', 'redis-topologies unrelated CA');
    await makeSignedCert(root, 'server', HOST, 'server_ext');
    await makeSignedCert(root, 'client', 'redis-topologies test client', 'client_ext');
    const file = (name: string) => join(root, name);

    const [port] = await freePorts(1);
    const proc = await spawnRedis(port!, [
      // --port 0: no plain-text listener at all, so nothing can talk to it without TLS.
      '--port', '0',
      '--tls-port', String(port),
      '--bind', HOST,
      '--tls-cert-file', file('server.crt'),
      '--tls-key-file', file('server.key'),
      '--tls-ca-cert-file', file('ca.crt'),
      '--tls-auth-clients', requireClientCert ? 'yes' : 'no',
      ...persistenceOff,
      '--dir', root,
      ...(password === undefined ? [] : ['--requirepass', password]),
    ], file('redis.log'));
    procs.push(proc);
    // Presenting the client certificate works whether or not the server asks for one.
    await waitForPing(proc, { ca: readFileSync(file('ca.crt')), cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) });
    return {
      port: port!,
      pid: proc.pid,
      url: `rediss://${HOST}:${port}`,
      password,
      caFile: file('ca.crt'),
      clientCertFile: file('client.crt'),
      clientKeyFile: file('client.key'),
      otherCaFile: file('other-ca.crt'),
      stop,
    };
  });
}
