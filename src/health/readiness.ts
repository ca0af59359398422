// Readiness (README: Health, readiness and shutdown): can this instance serve signed-in requests? It can while Redis or
// PostgreSQL answers (sessions are read from whichever does), so it stays ready through an outage
// of one of them: an outage every instance shares must not take them all out of the load
// balancer at once. Only when neither can serve is it unready — and Redis can serve sessions
// only once it is trusted (caught up with the revocation outbox, sessions/redis-trust.ts): a
// Redis that answers but cannot catch up because PostgreSQL is away serves nobody.
import type { Db } from '../db.ts';
import type { RedisClient } from '../redis.ts';
import { answerWithin } from '../redis-fallback.ts';

/** The longest /readyz waits for either answer (they are asked at the same time). */
export const READINESS_DEADLINE_MS = 2_000;

/** `catching_up`: Redis answers, but the revocations it may have missed are not applied yet. */
export type CheckState = 'ok' | 'unavailable' | 'catching_up';

export interface Checks {
  redis: CheckState;
  postgres: CheckState;
}

export interface ReadinessDeps {
  redis: RedisClient;
  db: Db;
  /** Whether this instance believes Redis's session entries (RevocationOutbox.redisTrusted). */
  redisTrusted: () => boolean;
}

export type ReadinessAnswer =
  | { httpStatus: 200; body: { status: 'ok'; checks: Checks } }
  | { httpStatus: 200; body: { status: 'degraded'; checks: Checks; message: string } }
  | { httpStatus: 503; body: { error: { code: 'service_unavailable'; message: string }; checks: Checks } };

const state = (answered: boolean): CheckState => (answered ? 'ok' : 'unavailable');

/**
 * Redis answers when a PING comes back within the deadline. Being connected ("ready") is not
 * enough: a connection can be open and get no replies (a hung server, a black-holed network).
 * While it is not connected the PING fails at once (no offline queue). answerWithin is the
 * deadline every Redis caller has; on a stall it also replaces the connection, as a session
 * read would.
 */
async function redisAnswers(redis: RedisClient, deadlineMs: number): Promise<boolean> {
  return answerWithin(redis, redis.ping(), deadlineMs).then(
    () => true,
    () => false,
  );
}

/** PostgreSQL answers when `SELECT 1` comes back within the deadline. */
async function postgresAnswers(db: Db, deadlineMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, deadlineMs, false);
  });
  const query = db.$queryRaw`SELECT 1`.then(
    () => true,
    () => false,
  );
  return Promise.race([query, deadline]).finally(() => clearTimeout(timer));
}

export async function checkDependencies({ redis, db, redisTrusted }: ReadinessDeps): Promise<Checks> {
  const [redisOk, postgresOk] = await Promise.all([redisAnswers(redis, READINESS_DEADLINE_MS), postgresAnswers(db, READINESS_DEADLINE_MS)]);
  return { redis: redisOk && !redisTrusted() ? 'catching_up' : state(redisOk), postgres: state(postgresOk) };
}

/** What /readyz answers for these checks (shutting down is decided before any check). */
export function readinessAnswer(checks: Checks): ReadinessAnswer {
  if (checks.redis === 'ok' && checks.postgres === 'ok') return { httpStatus: 200, body: { status: 'ok', checks } };
  if (checks.postgres === 'ok') {
    const message =
      checks.redis === 'catching_up'
        ? 'Redis is applying the revocations it may have missed: signed-in requests are served from PostgreSQL until it has.'
        : 'Redis is not answering: signed-in requests are served from PostgreSQL.';
    return { httpStatus: 200, body: { status: 'degraded', checks, message } };
  }
  if (checks.redis === 'ok') {
    return {
      httpStatus: 200,
      body: { status: 'degraded', checks, message: 'PostgreSQL is not answering: signed-in requests are served from Redis; registering, signing in or out and revoking sessions answer 503 until it does.' },
    };
  }
  const message =
    checks.redis === 'catching_up'
      ? 'PostgreSQL is not answering, and Redis cannot be believed until the revocations it may have missed are read from PostgreSQL and applied.'
      : 'Neither Redis nor PostgreSQL is answering.';
  return { httpStatus: 503, body: { error: { code: 'service_unavailable', message }, checks } };
}
