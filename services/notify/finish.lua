-- finish.lua: records the outcome of an attempt at the head of a
-- subscription's queue and moves the queue on, only while the caller holds
-- the subscription's lease (see notify.h).
--
-- KEYS[1] cpec:ntf:ready  KEYS[2] cpec:ntf:leases  KEYS[3] cpec:ntf:owners
-- KEYS[4] cpec:ntf:dlq
-- ARGV[1] subscription  ARGV[2] token  ARGV[3] delivery id
-- ARGV[4] outcome: "delivered", "retry", "dead"; "release" (no delivery:
--         the queue looked empty; kept when it is not), "leave" (the
--         replica stops: the queue is ready for another) or "drop" (the
--         subscription is gone: its queue is dropped)
-- ARGV[5] the packed Delivery as it now stands  ARGV[6] next attempt (ms)
-- ARGV[7] now (ms)  ARGV[8] lease (ms)  ARGV[9] keep (s)
-- Replies LOST (the lease is another's: nothing written), MOVED (the head
-- is another delivery: nothing written), RELEASED (retry later: the lease
-- is given up), NEXT (the lease is renewed for the next one), EMPTY or
-- DROPPED (the lease is given up).

local prefix = 'cpec:ntf:'
local sub = ARGV[1]
local id = ARGV[3]
local outcome = ARGV[4]
local now = tonumber(ARGV[7])
local queue = prefix .. 'q:' .. sub

if redis.call('HGET', KEYS[3], sub) ~= ARGV[2] then
    return 'LOST'
end

local function release()
    redis.call('ZREM', KEYS[2], sub)
    redis.call('HDEL', KEYS[3], sub)
end

if outcome == 'release' or outcome == 'leave' then
    local waiting = redis.call('LLEN', queue) > 0
    if waiting and outcome == 'release' then
        redis.call('ZADD', KEYS[2], now + tonumber(ARGV[8]), sub)
        return 'NEXT'
    end
    release()
    if waiting then
        redis.call('ZADD', KEYS[1], now, sub)
    end
    return 'EMPTY'
end

if outcome == 'drop' then
    redis.call('DEL', queue)
    release()
    return 'DROPPED'
end

if redis.call('LINDEX', queue, 0) ~= id then
    return 'MOVED'
end

local key = prefix .. 'dlv:' .. id
local version = (tonumber(redis.call('HGET', key, 'v')) or 0) + 1
redis.call('HSET', key, 'v', tostring(version), 'pb', ARGV[5])

if outcome == 'retry' then
    release()
    redis.call('ZADD', KEYS[1], ARGV[6], sub)
    return 'RELEASED'
end

redis.call('LPOP', queue)
if outcome == 'dead' then
    redis.call('ZADD', KEYS[4], now, id)
    redis.call('ZADD', prefix .. 'dlq:' .. sub, now, id)
else
    redis.call('EXPIRE', key, ARGV[9])
end
if redis.call('LLEN', queue) > 0 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[8]), sub)
    return 'NEXT'
end
release()
return 'EMPTY'
