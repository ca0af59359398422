// `npm start` (after the build) and `npm run serve`: validate every setting, start the
// development services nothing else provides (src/local-services; never in production), apply
// the migrations, then serve. With no service of its own to look after, the server runs in
// this process; with some, it runs as a child, and they are stopped once it has exited, so
// its requests drain while PostgreSQL and Redis are still there.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopEveryService } from '../local-services/child-service.ts';
import { startLocalServices, type LocalServices } from '../local-services/local-services.ts';
import { loadConfigOrExit } from '../startup-config.ts';
import { migrateOrExit } from './migrate-step.ts';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const config = loadConfigOrExit();

// From here until the server runs, a signal stops whatever services have been spawned (ready
// or not) and ends the start; once it runs, the signal is the server's to act on.
let server: ChildProcess | undefined;
let stopping = false;
async function stopServices(code: number, names: string[]): Promise<never> {
  stopping = true;
  await stopEveryService();
  if (names.length > 0) console.log(`local: stopped ${names.join(' and ')}`);
  process.exit(code);
}
const onSignal = (signal: NodeJS.Signals) => {
  if (server) server.kill(signal);
  else if (!stopping) void stopServices(0, []);
};
for (const signal of SIGNALS) process.on(signal, onSignal);

let local: LocalServices;
try {
  local = await startLocalServices(process.env, (line) => console.log(line));
} catch (err) {
  if (stopping) await new Promise(() => undefined); // a signal is stopping everything already
  console.error(`startup: ${(err as Error).message}`);
  process.exit(1);
}
Object.assign(process.env, local.env);
const names = local.services.map((service) => service.name);
await migrateOrExit(process.env.DATABASE_URL ?? config.databaseUrl, () => stopping);

if (local.services.length === 0) {
  // Nothing of ours to stop afterwards: the server's own signal handling takes over.
  for (const signal of SIGNALS) process.off(signal, onSignal);
  await import('../server.ts');
} else if (!stopping) {
  const script = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../server.ts' : '../server.js', import.meta.url));
  server = spawn(process.execPath, [...process.execArgv, script], { stdio: 'inherit', env: process.env });
  // The server's exit code is the start's: 0 after a clean stop on a signal.
  server.on('exit', (code, signal) => void stopServices(code ?? (signal ? 1 : 0), names));
}
