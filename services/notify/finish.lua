-- finish.lua: records the outcomes of attempts, each at the head of its
-- subscription's queue, and moves the queues on, each only while the caller
-- holds that subscription's lease (see notify.h). A batch: one call for
-- every attempt that finished in a round of the engine.
--
-- KEYS[1] cpec:ntf:ready  KEYS[2] cpec:ntf:leases  KEYS[3] cpec:ntf:owners
-- KEYS[4] cpec:ntf:dlq
-- ARGV[1] now (ms)  ARGV[2] lease (ms)  ARGV[3] keep (s)  ARGV[4] token
-- then per entry, 5 values: subscription, delivery id, outcome, the packed
-- Delivery as it now stands, next attempt (ms). Outcomes: "delivered",
-- "retry", "dead"; "release" (no delivery: the queue looked empty; kept
-- when it is not), "leave" (the replica stops: the queue is ready for
-- another) or "drop" (the subscription is gone: its queue is dropped).
-- Replies one word per entry: LOST (the lease is another's: nothing
-- written), MOVED (the head is another delivery: nothing written), RELEASED
-- (retry later: the lease is given up), NEXT (the lease is renewed for the
-- next one), EMPTY or DROPPED (the lease is given up).

local prefix = 'cpec:ntf:'
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local keep = ARGV[3]
local token = ARGV[4]

local function release(sub)
    redis.call('ZREM', KEYS[2], sub)
    redis.call('HDEL', KEYS[3], sub)
end

local function finish(sub, id, outcome, packed, next_at)
    local queue = prefix .. 'q:' .. sub
    if redis.call('HGET', KEYS[3], sub) ~= token then
        return 'LOST'
    end
    if outcome == 'release' or outcome == 'leave' then
        local waiting = redis.call('LLEN', queue) > 0
        if waiting and outcome == 'release' then
            redis.call('ZADD', KEYS[2], now + lease, sub)
            return 'NEXT'
        end
        release(sub)
        if waiting then
            redis.call('ZADD', KEYS[1], now, sub)
        end
        return 'EMPTY'
    end
    if outcome == 'drop' then
        for _, dropped in ipairs(redis.call('LRANGE', queue, 0, -1)) do
            redis.call('EXPIRE', prefix .. 'dlv:' .. dropped, keep)
        end
        redis.call('DEL', queue)
        release(sub)
        return 'DROPPED'
    end
    if redis.call('LINDEX', queue, 0) ~= id then
        return 'MOVED'
    end
    local key = prefix .. 'dlv:' .. id
    local version = (tonumber(redis.call('HGET', key, 'v')) or 0) + 1
    redis.call('HSET', key, 'v', tostring(version), 'pb', packed)
    if outcome == 'retry' then
        release(sub)
        redis.call('ZADD', KEYS[1], next_at, sub)
        return 'RELEASED'
    end
    redis.call('LPOP', queue)
    if outcome == 'dead' then
        redis.call('ZADD', KEYS[4], now, id)
        redis.call('ZADD', prefix .. 'dlq:' .. sub, now, id)
    else
        redis.call('EXPIRE', key, keep)
    end
    if redis.call('LLEN', queue) > 0 then
        redis.call('ZADD', KEYS[2], now + lease, sub)
        return 'NEXT'
    end
    release(sub)
    return 'EMPTY'
end

local words = {}
for i = 5, #ARGV, 5 do
    words[#words + 1] = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
return words
