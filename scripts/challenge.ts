// npm run challenge -- solve [baseUrl]  fetches a proof-of-work challenge from a running server
//                                       (GET /api/auth/challenge; default http://localhost:3000)
// npm run challenge -- solve -          reads one from stdin instead: a challenge, or the whole
//                                       403 challenge_required body that carries one
// Solves it and prints the value to send as `altcha` with the next login, and nothing else, on
// stdout; progress and errors go to stderr. Exit 1 on any problem. In `$(…)` use `npm run -s`:
// without it npm prints its own lines on stdout too.
import { availableParallelism } from 'node:os';
import { solveChallenge, type Challenge, type Solution } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

const USAGE = 'usage: npm run challenge -- solve [baseUrl] | solve - (challenge JSON on stdin)';
const DEFAULT_BASE_URL = 'http://localhost:3000';
const FETCH_TIMEOUT_MS = 10_000;
/** The key derivations this solver has (the server's are PBKDF2/SHA-256). */
const ALGORITHM_PREFIX = 'PBKDF2/';
/** Parallel solvers: node:crypto's pbkdf2 runs on libuv's pool, which has 4 threads by default. */
const SOLVERS = Math.min(availableParallelism(), 4);
/** How long to try when a challenge has no expiry (this server's expire after 10 minutes). */
const NO_EXPIRY_TIMEOUT_MS = 90_000;

function fail(message: string): never {
  console.error(`challenge: ${message}`);
  process.exit(1);
}

async function fetchChallenge(baseUrl: string): Promise<unknown> {
  if (!URL.canParse(baseUrl)) fail(`"${baseUrl}" is not a URL; ${USAGE}`);
  const url = `${baseUrl.replace(/\/+$/, '')}/api/auth/challenge`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    fail(`could not reach ${url} (${cause?.code ?? cause?.message ?? (err as Error).message}); is the server running there?`);
  }
  if (!res.ok) fail(`${url} answered HTTP ${res.status}, not a challenge; is this the sign-in service?`);
  try {
    return await res.json();
  } catch {
    fail(`${url} did not answer JSON; is this the sign-in service?`);
  }
}

async function readStdin(): Promise<unknown> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  if (text.trim() === '') fail('no challenge JSON on stdin');
  try {
    return JSON.parse(text);
  } catch {
    fail('stdin is not JSON: expected a challenge, or a 403 challenge_required body');
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The challenge itself, `{challenge}`, or the error body `{error:{challenge}}`. */
function findChallenge(value: unknown): Challenge {
  const candidates = [value, isObject(value) && value.challenge, isObject(value) && isObject(value.error) && value.error.challenge];
  const found = candidates.find((c) => isObject(c) && isObject(c.parameters));
  if (!found) fail('the answer holds no challenge (an object with `parameters`)');
  const challenge = found as Challenge;
  const { algorithm, expiresAt } = challenge.parameters;
  if (typeof algorithm !== 'string' || !algorithm.startsWith(ALGORITHM_PREFIX)) fail(`cannot solve the algorithm ${JSON.stringify(algorithm)}: only ${ALGORITHM_PREFIX}*`);
  if (expiresAt !== undefined && expiresAt * 1000 <= Date.now()) fail('the challenge has expired; fetch a new one');
  return challenge;
}

const NOT_FOUND = new Error('not found in time');

/** Interleaved solvers, one counter in SOLVERS each; the first to find it stops the others. */
async function solve(challenge: Challenge): Promise<Solution> {
  const { expiresAt } = challenge.parameters;
  // At least 1 ms: solveChallenge reads a timeout of 0 as none.
  const timeout = expiresAt === undefined ? NO_EXPIRY_TIMEOUT_MS : Math.max(1, expiresAt * 1000 - Date.now());
  const controller = new AbortController();
  const solvers = Array.from({ length: SOLVERS }, (_, i) =>
    solveChallenge({ challenge, deriveKey, controller, timeout, counterStart: i, counterStep: SOLVERS }).then((solution) => {
      if (!solution) throw NOT_FOUND;
      return solution;
    }),
  );
  try {
    return await Promise.any(solvers);
  } catch (err) {
    const reason = (err as AggregateError).errors[0] as Error;
    fail(reason === NOT_FOUND ? 'no solution before the challenge expired; fetch a new one' : `cannot solve it: ${reason.message}`);
  } finally {
    controller.abort();
  }
}

const [command, source = DEFAULT_BASE_URL, ...rest] = process.argv.slice(2);
if (command !== 'solve' || rest.length > 0) fail(USAGE);
const challenge = findChallenge(source === '-' ? await readStdin() : await fetchChallenge(source));
const { algorithm, cost } = challenge.parameters;
console.error(`challenge: solving (${algorithm}, cost ${cost})…`);
const startedMs = Date.now();
const solution = await solve(challenge);
console.error(`challenge: solved in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
console.log(Buffer.from(JSON.stringify({ challenge, solution })).toString('base64'));
