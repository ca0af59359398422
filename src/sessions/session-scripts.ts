// The Lua scripts of the session keys (session-keys.ts). Each call touches one bucket, and every
// key it touches is in KEYS, so each runs on one node of a Redis Cluster as it does on one Redis.
//
// Expiry counters (per bucket, one hash each for sessions and for users): a field per expiry
// minute, plus `n`, the sum of the fields, and `t`, the first minute not yet trimmed. Active
// counts are `n` minus the untrimmed past minutes (usually none or one), so the admin summary
// costs the same for a thousand sessions as for a million.

/** The counters' unit: sessions and users are counted per minute of expiry. */
export const EXPIRY_COUNT_MS = 60_000;

/**
 * move(key, from, to, now): one count from the minute of expiry `from` to that of `to` (either
 * false: none); a minute trimmed already is not counted down again. latest(index): the top score.
 */
const COUNTER_LUA = `
local function minute(ms) return math.floor(tonumber(ms) / ${EXPIRY_COUNT_MS}) end
local function move(key, from, to, now)
  if from and to and minute(from) == minute(to) then return end
  if from then
    local field = tostring(minute(from))
    local left = redis.call('HINCRBY', key, field, -1)
    if left <= 0 then redis.call('HDEL', key, field) end
    if left >= 0 then redis.call('HINCRBY', key, 'n', -1) end
  end
  if to then
    redis.call('HSETNX', key, 't', minute(now))
    redis.call('HINCRBY', key, tostring(minute(to)), 1)
    redis.call('HINCRBY', key, 'n', 1)
  end
end
local function latest(index)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  return top[2] or false
end
`;

/**
 * Atomic with respect to revocation (which sets the tombstone and deletes the key in the same
 * bucket's script): a write can never bring back a session revoked while it was in flight.
 * 'touch' only refreshes a session that still exists; 'restore' never overwrites a newer copy.
 * KEYS: session, tombstone, user index, sessions:expiring, users:expiring.
 * ARGV: value, TTL ms, expiry ms, hash, index TTL ms, mode, now ms.
 * Returns 0 blocked, 1 created, 2 updated.
 */
export const PUT_SCRIPT = `${COUNTER_LUA}
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local existed = redis.call('EXISTS', KEYS[1])
if ARGV[6] == 'touch' and existed == 0 then return 0 end
if ARGV[6] == 'restore' and existed == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local before = latest(KEYS[3])
local previous = redis.call('ZSCORE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
move(KEYS[4], previous, ARGV[3], ARGV[7])
move(KEYS[5], before, latest(KEYS[3]), ARGV[7])
return existed + 1
`;

/**
 * Revocation of sessions of one user: tombstone, delete, unindex, uncount; then the user moves
 * to the minute of their latest remaining expiry (or out of the count). Idempotent. Counts the
 * write in the bucket's revocation sequence, in the same atomic call, and answers it with the
 * bucket's generation: PostgreSQL records the pair, so a Redis that later shows a lower number
 * or another generation is known to have lost this write (revocation-outbox.ts).
 * KEYS: user index, sessions:expiring, users:expiring, generation, seq, then session and
 * tombstone of each. ARGV: tombstone TTL s, now ms, then the hash of each.
 * Returns { seq, generation or false }.
 */
export const REMOVE_SCRIPT = `${COUNTER_LUA}
local before = latest(KEYS[1])
for i = 3, #ARGV do
  local session, tombstone = KEYS[4 + (i - 2) * 2], KEYS[5 + (i - 2) * 2]
  redis.call('SET', tombstone, '1', 'EX', ARGV[1])
  redis.call('UNLINK', session)
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    redis.call('ZREM', KEYS[1], ARGV[i])
    move(KEYS[2], score, false, ARGV[2])
  end
end
move(KEYS[3], before, latest(KEYS[1]), ARGV[2])
return { redis.call('INCR', KEYS[5]), redis.call('GET', KEYS[4]) }
`;

/** Sessions and users of one bucket expiring this minute or later. KEYS: both counters. ARGV: now ms. */
export const ACTIVE_SCRIPT = `
local now = math.floor(tonumber(ARGV[1]) / ${EXPIRY_COUNT_MS})
local function active(key)
  local total = tonumber(redis.call('HGET', key, 'n') or '0')
  local from = tonumber(redis.call('HGET', key, 't') or now)
  for m = from, now - 1 do total = total - tonumber(redis.call('HGET', key, tostring(m)) or '0') end
  return total
end
return { active(KEYS[1]), active(KEYS[2]) }
`;

/** Drops one bucket's past minutes; returns how many sessions they held. KEYS/ARGV as above. */
export const TRIM_SCRIPT = `
local now = math.floor(tonumber(ARGV[1]) / ${EXPIRY_COUNT_MS})
local dropped = 0
for k = 1, #KEYS do
  local from = tonumber(redis.call('HGET', KEYS[k], 't') or now)
  for m = from, now - 1 do
    local count = tonumber(redis.call('HGET', KEYS[k], tostring(m)) or '0')
    if count ~= 0 then
      redis.call('HDEL', KEYS[k], tostring(m))
      redis.call('HINCRBY', KEYS[k], 'n', -count)
      if k == 1 then dropped = dropped + count end
    end
  end
  if from < now and redis.call('EXISTS', KEYS[k]) == 1 then redis.call('HSET', KEYS[k], 't', now) end
end
return dropped
`;

/**
 * One bucket's revocation state, on the node that holds the bucket. KEYS: generation, seq.
 * Returns { generation marker or false, seq, this server's run_id }.
 */
export const BUCKET_STATE_SCRIPT = `
local server = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
return { redis.call('GET', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0'), server }
`;

/**
 * Starts a generation in one bucket, naming the server it starts on (a replica that is promoted
 * later holds the marker with its old primary's run_id, so it is known not to be that server).
 * KEYS: generation. ARGV: generation.
 */
export const SET_GENERATION_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.match(redis.call('INFO', 'server'), 'run_id:(%w+)'))
return 1
`;
