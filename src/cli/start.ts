// `npm start` (after the build) and `npm run serve`: validate every setting, start the
// development services nothing else provides (src/local-services; never in production), apply
// the migrations, then serve. With no service of its own to look after, the server runs in
// this process; with some, it runs as a child, and they are stopped once it has exited, so
// its requests drain while PostgreSQL and Redis are still there.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalServiceError, startLocalServices, type LocalServices } from '../local-services/local-services.ts';
import { loadConfigOrExit } from '../startup-config.ts';
import { migrateOrExit } from './migrate-step.ts';

const config = loadConfigOrExit();

let local: LocalServices;
try {
  local = await startLocalServices(process.env, (line) => console.log(line));
} catch (err) {
  if (!(err instanceof LocalServiceError)) throw err;
  console.error(`startup: ${err.message}`);
  process.exit(1);
}
Object.assign(process.env, local.env);
if (local.services.length === 0) {
  await migrateOrExit(config.databaseUrl);
  await import('../server.ts');
} else {
  await superviseServer(local);
}

async function superviseServer(services: LocalServices): Promise<void> {
  let server: ReturnType<typeof spawn> | undefined;
  const stopEverything = async (code: number) => {
    await services.stopAll();
    console.log(`local: stopped ${services.services.map((service) => service.name).join(' and ')}`);
    process.exit(code);
  };
  // Until the server runs, a signal stops the services; after, it goes to the server, which
  // drains and exits (a terminal's Ctrl-C reaches it directly too; it ignores the repeat).
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => (server ? server.kill(signal) : void stopEverything(1)));
  }
  await migrateOrExit(process.env.DATABASE_URL ?? config.databaseUrl);
  const script = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../server.ts' : '../server.js', import.meta.url));
  server = spawn(process.execPath, [...process.execArgv, script], { stdio: 'inherit', env: process.env });
  server.on('exit', (code, signal) => void stopEverything(code ?? (signal ? 1 : 0)));
}
