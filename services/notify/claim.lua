-- claim.lua: a replica takes subscriptions whose queues are ready to be
-- worked, or renews the leases it holds (see notify.h).
--
-- KEYS[1] cpec:ntf:ready  KEYS[2] cpec:ntf:leases  KEYS[3] cpec:ntf:owners
-- KEYS[4] cpec:ntf:replicas (sorted set: replica token -> last seen)
-- ARGV[1] "claim" or "renew"  ARGV[2] now (ms)  ARGV[3] lease (ms)
-- ARGV[4] the replica's token
-- claim: ARGV[5] at most this many, ARGV[6] 1 when the replica also says it
--   is alive; replies the subscriptions taken: the
--   replica's fair share of those ready (their number over the replicas
--   seen within a lease), so that replicas share the work. Leases that
--   lapsed (their replica died or stalled) are ready again first.
-- renew: ARGV[5 ..] subscriptions; replies those whose lease is still the
--   token's (renewed), so the replica knows which it lost.

local prefix = 'cpec:ntf:'
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local token = ARGV[4]
local out = {}

if ARGV[1] == 'renew' then
    for i = 5, #ARGV do
        local sub = ARGV[i]
        if redis.call('HGET', KEYS[3], sub) == token then
            redis.call('ZADD', KEYS[2], now + lease, sub)
            out[#out + 1] = sub
        end
    end
    return out
end

-- A replica says it is alive now and then (ARGV[6] = 1), not at every
-- claim: a claim that finds nothing to take then writes nothing (no append
-- to the AOF, no fsync)
if ARGV[6] == '1' then
    redis.call('ZADD', KEYS[4], now, token)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - lease)
local max = tonumber(ARGV[5])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)
for _, sub in ipairs(lapsed) do
    redis.call('ZREM', KEYS[2], sub)
    redis.call('HDEL', KEYS[3], sub)
    redis.call('ZADD', KEYS[1], now, sub)
end

local ready = redis.call('ZCOUNT', KEYS[1], '-inf', now)
local replicas = math.max(1, redis.call('ZCARD', KEYS[4]))
local share = math.ceil(ready / replicas)
if share < max then
    max = share
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)
for _, sub in ipairs(due) do
    redis.call('ZREM', KEYS[1], sub)
    if redis.call('LLEN', prefix .. 'q:' .. sub) > 0 then
        redis.call('ZADD', KEYS[2], now + lease, sub)
        redis.call('HSET', KEYS[3], sub, token)
        out[#out + 1] = sub
    end
end
return out
