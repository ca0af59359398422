// A real TCP proxy in front of a service, which a test can cut and restore: faults are
// injected on the wire, never by mocking a client.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url: (scheme: string) => string;
  /** Drops every connection and refuses new ones until restore(). */
  cut: () => Promise<void>;
  restore: () => Promise<void>;
  /** Keeps connections open but holds back every answer (a hung server) until unstall(). */
  stall: () => void;
  unstall: () => void;
  close: () => Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** Each connection's answer direction (server → client), held back while stalled. */
  const answers = new Map<Socket, Socket>();
  let stalled = false;
  let server: Server;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream);
        if (!stalled) upstream.pipe(client);
        answers.set(upstream, client);
        client.on('close', () => {
          answers.delete(upstream);
          upstream.destroy();
        });
        upstream.on('close', () => client.destroy());
      });
      // Restoring re-binds the same port: if something took it meanwhile, say so rather than hang.
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });

  await listen();
  return {
    get port() {
      return port;
    },
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    cut: stop,
    restore: listen,
    stall: () => {
      stalled = true;
      // Unpiped, the answers wait in the upstream socket's buffer until unstall().
      for (const [upstream, client] of answers) upstream.unpipe(client);
    },
    unstall: () => {
      stalled = false;
      for (const [upstream, client] of answers) upstream.pipe(client);
    },
    close: stop,
  };
}

/** Polls until `check` is true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
