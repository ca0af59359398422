// The failed-login budgets in Redis: one Lua script call per budget, so the check and the count
// are one atomic step and a concurrent burst cannot outrun them. Every key a script touches is
// passed in KEYS, and the keys of one budget share a hash tag, so each script runs in one slot
// of a Redis Cluster.
//
// Account budget (per normalized email, hashed):
//   lg:{<email hash>}:f        failures in the window: a counter that expires one window after
//                              its first failure (a fixed window)
//   lg:{<email hash>}:p        attempts in flight: a sorted set, member = attempt id, score = its
//                              deadline (ms, Redis time)
//   lg:{<email hash>}:lock     present while the account is locked (TTL = the lock)
//   lg:{<email hash>}:strikes  how many locks in the last day (progressive back-off)
// IP budget (per IP or IPv6 /56), only while CHALLENGE_AFTER_IP_FAILURES is set:
//   lg:ip:{<ip>}               failures in the window, as above
//   lg:ip:{<ip>}:p             attempts in flight, as above
//
// An attempt is admitted while its in-flight reservations plus failures are below the limit.
// Each reservation has its own deadline instead of sharing the window's TTL: one that is never
// settled here (Redis was away at the time) stops counting at its deadline, and the window
// ending cannot forget attempts still in flight. The set itself expires at its latest deadline.

/** Redis's own clock in ms: every instance's reservations are judged by one clock. */
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * used(): drops the expired reservations, then counts those left plus the failures.
 * reserve(): adds one reservation and keeps the set until its latest deadline.
 */
const HELPERS = `
local function used(failures, inFlight)
  redis.call('ZREMRANGEBYSCORE', inFlight, '-inf', now)
  return redis.call('ZCARD', inFlight) + tonumber(redis.call('GET', failures) or '0')
end
local function reserve(inFlight, id, reservationMs)
  redis.call('ZADD', inFlight, now + reservationMs, id)
  local latest = redis.call('ZRANGE', inFlight, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', inFlight, latest[2])
end
`;

/**
 * KEYS: failures, inFlight, lock, strikes. ARGV: max, challengeAfter (0 = never), hasProof (1/0),
 * attempt id, reservationMs. Returns {'locked', ms}, {'exhausted', strikes}, {'challenge', 0} or
 * {'admitted', 0}.
 */
export const RESERVE_ACCOUNT = `${NOW}${HELPERS}
local lockMs = redis.call('PTTL', KEYS[3])
if lockMs > 0 then return {'locked', lockMs} end
local count = used(KEYS[1], KEYS[2])
if count >= tonumber(ARGV[1]) then return {'exhausted', tonumber(redis.call('GET', KEYS[4]) or '0')} end
local challengeAfter = tonumber(ARGV[2])
if challengeAfter > 0 and count >= challengeAfter and ARGV[3] ~= '1' then return {'challenge', 0} end
reserve(KEYS[2], ARGV[4], tonumber(ARGV[5]))
return {'admitted', 0}
`;

/**
 * KEYS: failures, inFlight, lock, strikes. ARGV: outcome (success | failure | release), attempt
 * id, max, windowMs, lockBaseMs, lockMaxMs, strikesTtlMs. Returns the lock this failure started,
 * in ms, or 0. The reservation may be gone already (past its deadline): a failure still counts.
 */
export const SETTLE_ACCOUNT = `
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[1] == 'release' then return 0 end
if ARGV[1] == 'success' then
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
  return 0
end
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if failures < tonumber(ARGV[3]) then return 0 end
local strikes = redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], ARGV[7])
local lockMs = math.floor(math.min(tonumber(ARGV[5]) * 2 ^ (strikes - 1), tonumber(ARGV[6])))
redis.call('SET', KEYS[3], '1', 'PX', lockMs)
redis.call('DEL', KEYS[1])
return lockMs
`;

/**
 * KEYS: failures, inFlight. ARGV: threshold (0 = never), hasProof (1/0), attempt id,
 * reservationMs. 1 = admitted, 0 = a proof of work is due.
 */
export const RESERVE_IP = `${NOW}${HELPERS}
local threshold = tonumber(ARGV[1])
if threshold > 0 and used(KEYS[1], KEYS[2]) >= threshold and ARGV[2] ~= '1' then return 0 end
reserve(KEYS[2], ARGV[3], tonumber(ARGV[4]))
return 1
`;

/** KEYS: failures, inFlight. ARGV: outcome, attempt id, windowMs. A failure keeps its point. */
export const SETTLE_IP = `
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[1] == 'failure' and redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

/** KEYS: failures, inFlight. Unexpired reservations plus failures (read only). */
export const BUDGET_USE = `${NOW}
return redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf') + tonumber(redis.call('GET', KEYS[1]) or '0')
`;
