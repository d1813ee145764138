-- replay.lua: puts dead letters back at the end of their subscriptions'
-- queues, each once (a dead letter another call replayed first is skipped).
--
-- KEYS[1] cpec:ntf:dlq  KEYS[2] cpec:ntf:ready  KEYS[3] cpec:ntf:leases
-- ARGV[1] now (ms), then per dead letter: subscription, delivery id, the
-- packed Delivery as replayed (PENDING, attempts 0)
-- Replies the delivery ids replayed.

local prefix = 'cpec:ntf:'
local now = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 3 do
    local sub, id, packed = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if redis.call('ZREM', KEYS[1], id) == 1 then
        redis.call('ZREM', prefix .. 'dlq:' .. sub, id)
        local key = prefix .. 'dlv:' .. id
        local version = (tonumber(redis.call('HGET', key, 'v')) or 0) + 1
        redis.call('HSET', key, 'v', tostring(version), 'pb', packed)
        redis.call('PERSIST', key)
        redis.call('RPUSH', prefix .. 'q:' .. sub, id)
        if not redis.call('ZSCORE', KEYS[3], sub) then
            redis.call('ZADD', KEYS[2], 'NX', now, sub)
        end
        out[#out + 1] = id
    end
end
return out
