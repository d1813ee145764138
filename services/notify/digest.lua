-- digest.lua: turns the first N deliveries waiting for a subscription's
-- digest into one digest delivery at the end of its queue, in one step.
--
-- KEYS[1] cpec:ntf:digests  KEYS[2] cpec:ntf:ready  KEYS[3] cpec:ntf:leases
-- ARGV[1] subscription  ARGV[2] the digest's delivery id  ARGV[3] its packed
-- Delivery  ARGV[4] N  ARGV[5] the first waiting id (as read)  ARGV[6] now
-- ARGV[7] the next digest time  ARGV[8] keep (s)
-- Replies 1 when made, 0 when the waiting list changed under the caller
-- (another replica made the digest): nothing written.

local prefix = 'cpec:ntf:'
local sub = ARGV[1]
local waiting = prefix .. 'digest:' .. sub
local n = tonumber(ARGV[4])
if redis.call('LLEN', waiting) < n or redis.call('LINDEX', waiting, 0) ~= ARGV[5] then
    return 0
end
local key = prefix .. 'dlv:' .. ARGV[2]
if redis.call('EXISTS', key) == 1 then
    return 0
end
for _, id in ipairs(redis.call('LRANGE', waiting, 0, n - 1)) do
    redis.call('EXPIRE', prefix .. 'dlv:' .. id, ARGV[8])
end
redis.call('LTRIM', waiting, n, -1)
redis.call('HSET', key, 'v', '1', 'pb', ARGV[3])
local hist = prefix .. 'hist:' .. sub
redis.call('ZADD', hist, ARGV[6], ARGV[2])
redis.call('RPUSH', prefix .. 'q:' .. sub, ARGV[2])
if not redis.call('ZSCORE', KEYS[3], sub) then
    redis.call('ZADD', KEYS[2], 'NX', ARGV[6], sub)
end
if redis.call('LLEN', waiting) > 0 then
    -- More than one digest holds: the rest goes in the next one, now
    redis.call('ZADD', KEYS[1], ARGV[6], sub)
else
    redis.call('ZREM', KEYS[1], sub)
end
return 1
