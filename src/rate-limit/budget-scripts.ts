// The failed-login budgets in Redis: one Lua script call per budget key, so the check and the
// count are one atomic step and a concurrent burst cannot outrun them.
//
// Account budget (per normalized email, hashed), three keys sharing one hash tag:
//   lg:{<email hash>}:n       hash: p = attempts in flight, f = failures in the window
//   lg:{<email hash>}:lock    present while the account is locked (TTL = the lock)
//   lg:{<email hash>}:strikes how many locks in the last day (progressive back-off)
// An attempt is admitted only while p + f is below the limit, and p counts it before its
// password is checked; settling it moves the point from p to f (failure) or gives it back and
// forgets the failures (success).
//
// IP budget: lg:ip:<ip or /56> counts failures plus attempts in flight; past the threshold an
// attempt must carry a solved proof of work. A success gives its point back.

/** KEYS: counts, lock. ARGV: max, challengeAfter (0 = never), hasProof (1/0), windowMs. */
export const RESERVE_ACCOUNT = `
local lockMs = redis.call('PTTL', KEYS[2])
if lockMs > 0 then return {'locked', lockMs} end
local inFlight = tonumber(redis.call('HGET', KEYS[1], 'p') or '0')
local failures = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local used = inFlight + failures
if used >= tonumber(ARGV[1]) then return {'exhausted', 0} end
local challengeAfter = tonumber(ARGV[2])
if challengeAfter > 0 and used >= challengeAfter and ARGV[3] ~= '1' then return {'challenge', 0} end
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('HINCRBY', KEYS[1], 'p', 1)
if fresh then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {'admitted', 0}
`;

/**
 * KEYS: counts, lock, strikes. ARGV: outcome (success | failure | release), max, windowMs,
 * lockBaseMs, lockMaxMs, strikesTtlMs. Returns the lock this failure started, in ms, or 0.
 */
export const SETTLE_ACCOUNT = `
local exists = redis.call('EXISTS', KEYS[1]) == 1
if exists and redis.call('HINCRBY', KEYS[1], 'p', -1) < 0 then redis.call('HSET', KEYS[1], 'p', 0) end
if ARGV[1] == 'release' then return 0 end
if ARGV[1] == 'success' then
  if exists then redis.call('HSET', KEYS[1], 'f', 0) end
  redis.call('DEL', KEYS[2], KEYS[3])
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
if not exists then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if failures < tonumber(ARGV[2]) then return 0 end
local strikes = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
local lockMs = math.floor(math.min(tonumber(ARGV[4]) * 2 ^ (strikes - 1), tonumber(ARGV[5])))
redis.call('SET', KEYS[2], '1', 'PX', lockMs)
redis.call('HSET', KEYS[1], 'f', 0)
return lockMs
`;

/** KEYS: counter. ARGV: threshold (0 = never), hasProof (1/0), windowMs. 1 = admitted, 0 = challenge. */
export const RESERVE_IP = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local threshold = tonumber(ARGV[1])
if threshold > 0 and used >= threshold and ARGV[2] ~= '1' then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

/** KEYS: counter. Gives an attempt's point back (a success, or an attempt refused before its check). */
export const RETURN_IP = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('DECR', KEYS[1]) < 0 then redis.call('SET', KEYS[1], '0', 'KEEPTTL') end
return 1
`;
