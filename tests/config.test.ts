import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, maskUrl } from '../src/config.ts';

/** Where PostgreSQL and Redis are: required in production. */
const URLS = { DATABASE_URL: 'postgresql://u:p@db:5432/app', REDIS_URL: 'redis://cache:6379' };

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: 'postgresql://postgres:postgres@localhost:5432/redis_session_auth',
      redisUrl: 'redis://localhost:6379',
      redisDb: 0,
      sessionTtlSeconds: 604_800,
      sessionIdleTimeoutSeconds: 86_400,
      trustProxy: false,
      rateLimitWindowMs: 60_000,
      rateLimitMax: 100,
      usingDevSecret: true,
      isProduction: false,
    });
  });

  it('reports one line per bad setting, naming it and what is expected', () => {
    const problems = problemsOf({ PORT: 'abc', REDIS_URL: 'http://nope', SESSION_TTL: '-5', REDIS_DB: '99', TRUST_PROXY: 'not an ip' });
    expect(problems).toHaveLength(5); // every bad setting in the same run
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: expected a whole number from 0 to 65535 \(got "abc"\)$/),
        expect.stringMatching(/^REDIS_URL: expected a URL like redis:\/\/host:6379/),
        expect.stringMatching(/^SESSION_TTL: expected a whole number/),
        expect.stringMatching(/^REDIS_DB: expected a whole number from 0 to 15/),
        expect.stringMatching(/^TRUST_PROXY: expected false, true, a hop count/),
      ]),
    );
    expect(problemsOf({ TRUST_PROXY: 'not an ip' })).toEqual([expect.stringMatching(/^TRUST_PROXY: expected false, true, a hop count/)]);
  });

  it('reports a bad value and a short production secret together, not one after the other', () => {
    expect(problemsOf({ ...URLS, NODE_ENV: 'production', PORT: 'not-a-port', SESSION_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^PORT: expected a whole number/),
      expect.stringMatching(/^SESSION_SECRET: every secret must be at least 32/),
    ]);
  });

  it('requires a SESSION_SECRET of at least 32 characters in production', () => {
    expect(problemsOf({ ...URLS, NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^SESSION_SECRET: required when NODE_ENV=production/)]);
    expect(problemsOf({ ...URLS, NODE_ENV: 'production', SESSION_SECRET: 'short' })).toEqual([expect.stringMatching(/^SESSION_SECRET: every secret must be at least 32/)]);
    expect(problemsOf({ ...URLS, NODE_ENV: 'production', SESSION_SECRET: `${'a'.repeat(32)},short` })).toHaveLength(1);
    expect(loadConfig({ ...URLS, NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).usingDevSecret).toBe(false);
  });

  it('requires DATABASE_URL and a Redis setting in production, where nothing is started or assumed', () => {
    const secret = { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) };
    expect(problemsOf(secret)).toEqual([
      expect.stringMatching(/^DATABASE_URL: required when NODE_ENV=production/),
      expect.stringMatching(/^REDIS_URL: required when NODE_ENV=production .*unless REDIS_SENTINELS or REDIS_CLUSTER_NODES is set$/),
    ]);
    expect(problemsOf({ ...secret, DATABASE_URL: URLS.DATABASE_URL, REDIS_URL: '' })).toEqual([expect.stringMatching(/^REDIS_URL: required/)]);
    expect(problemsOf({ ...secret, DATABASE_URL: URLS.DATABASE_URL, REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual([]);
    expect(problemsOf({ ...secret, DATABASE_URL: URLS.DATABASE_URL, REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toEqual([]);
    // Outside production the defaults stand (npm start may start them itself).
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
  });

  it('splits a comma-separated SESSION_SECRET into a rotation list, first one signing', () => {
    expect(loadConfig({ SESSION_SECRET: ' new-secret , old-secret ' }).sessionSecrets).toEqual(['new-secret', 'old-secret']);
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.1', ['10.0.0.0/8', '192.168.1.1']],
  ])('parses TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('listens on every interface unless HOST names an address', () => {
    expect(loadConfig({}).host).toBeUndefined();
    expect(loadConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '::' }).host).toBe('::');
    expect(problemsOf({ HOST: 'not a host' })).toEqual([expect.stringMatching(/^HOST: expected an IP address or host name/)]);
  });

  it('never echoes a URL (it may hold a password) in a problem', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(problems[0]).toContain('DATABASE_URL');
    expect(problems[0]).not.toContain('hunter2');
  });
});

describe('maskUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(maskUrl('redis://user:secret@redis.example:6380/2')).toBe('redis://user:****@redis.example:6380/2');
    expect(maskUrl('redis://localhost:6379')).toBe('redis://localhost:6379');
  });
});
