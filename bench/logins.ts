// Sign-in cost: argon2id verifications in-process with the product's parameters, logins/s
// over HTTP, and signed-in requests' p99 with and without a concurrent login storm.
import { ARGON2_OPTIONS, argon2Hasher } from '../src/auth/passwords.ts';
import { appCounters, type AppProcess } from './children.ts';
import type { Credentials } from './lineup.ts';
import { runLoad } from './load.ts';
import type { OtherResults, StormResult } from './results.ts';
import { modeHeaders, type BenchMode, type BenchSettings } from './settings.ts';
import { perRequest, sum } from './stats.ts';

/** The product's bound on concurrent hashes (src/auth/passwords.ts). */
const PRODUCT_MAX_CONCURRENT_HASHES = 2;

export async function measureArgon2(verifications: number): Promise<NonNullable<OtherResults['argon2']>> {
  const password = 'correct horse battery staple';
  const stored = await argon2Hasher.hash(password);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: verifications }, () => argon2Hasher.verify(stored, password)));
  const seconds = (performance.now() - started) / 1000;
  if (!results.every(Boolean)) throw new Error('argon2 verification failed for the right password');
  const { memoryCost, timeCost, parallelism } = ARGON2_OPTIONS;
  return { parameters: `argon2id m=${memoryCost} KiB, t=${timeCost}, p=${parallelism}`, maxConcurrent: PRODUCT_MAX_CONCURRENT_HASHES, verifyPerSecond: verifications / seconds };
}

function loginLoad(baseUrl: string, credentials: Credentials, seconds: number, connections: number, mode: BenchMode) {
  return runLoad({
    url: `${baseUrl}/api/auth/login`,
    method: 'POST',
    headers: { ...modeHeaders(mode), 'content-type': 'application/json', 'user-agent': 'rsa-bench-login-storm' },
    body: JSON.stringify(credentials),
    seconds,
    connections,
  });
}

/**
 * Logins still queued for a hash when a load window ends keep the product busy after it.
 * A login sent now queues behind all of them (hashes run first come, first served); when it
 * is answered, they are done.
 */
async function drainLogins(baseUrl: string, credentials: Credentials, mode: BenchMode): Promise<void> {
  const res = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { ...modeHeaders(mode), 'content-type': 'application/json' }, body: JSON.stringify(credentials) });
  if (res.status !== 200) throw new Error(`login after the storm answered ${res.status}`);
}

/** Logins/s over HTTP, and the product's CPU time per login (its argon2id threads included). */
export async function measureLogins(app: AppProcess, credentials: Credentials, settings: BenchSettings): Promise<NonNullable<OtherResults['logins']>> {
  const before = await appCounters(app);
  const sample = await loginLoad(app.baseUrl, credentials, settings.loginSeconds, settings.loginConnections, settings.mode);
  await drainLogins(app.baseUrl, credentials, settings.mode);
  const after = await appCounters(app);
  // Every request the window sent is a login (the drain's one included), answered or not.
  const cpuMicrosPerLogin = perRequest(after.cpuMicros - before.cpuMicros, after.requests - before.requests) ?? Number.NaN;
  return { perSecond: sample.rps, connections: settings.loginConnections, failures: sample.failures, cpuMicrosPerLogin };
}

/** Alternates: signed-in requests at a fixed rate alone, then the same during a login storm. */
export interface StormInput {
  baseUrl: string;
  cookie: string;
  credentials: Credentials;
  /** Low enough that latency is service time, not queueing: a share of measured capacity. */
  meRatePerSecond: number;
}

export async function measureStorm({ baseUrl, cookie, credentials, meRatePerSecond }: StormInput, settings: BenchSettings, log: (message: string) => void): Promise<StormResult> {
  const me = () =>
    runLoad({
      url: `${baseUrl}/api/auth/me`,
      headers: { ...modeHeaders(settings.mode), cookie },
      seconds: settings.stormWindowSeconds,
      connections: settings.stormMeConnections,
      overallRatePerSecond: meRatePerSecond,
    });
  const result: StormResult = {
    meRatePerSecond,
    meConnections: settings.stormMeConnections,
    loginConnections: settings.loginConnections,
    aloneP99Ms: [],
    stormP99Ms: [],
    stormLoginsPerSecond: [],
    failures: 0,
  };
  for (let round = 1; round <= settings.stormRounds; round++) {
    log(`login storm round ${round}/${settings.stormRounds}`);
    const alone = await me();
    const [during, storm] = await Promise.all([me(), loginLoad(baseUrl, credentials, settings.stormWindowSeconds, settings.loginConnections, settings.mode)]);
    await drainLogins(baseUrl, credentials, settings.mode);
    result.aloneP99Ms.push(alone.p99Ms);
    result.stormP99Ms.push(during.p99Ms);
    result.stormLoginsPerSecond.push(storm.rps);
    result.failures += sum([alone.failures, during.failures, storm.failures]);
  }
  return result;
}
