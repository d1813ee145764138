-- fanout.lua: records the deliveries a batch of events causes and
-- acknowledges the events, in one step (see notify.h). A delivery already
-- recorded (the batch is fanned out again after its replica died) is left
-- as it is, so each (event, subscription) has one delivery whatever happens.
--
-- KEYS[1] cpec:events     KEYS[2] cpec:ntf:ready   KEYS[3] cpec:ntf:leases
-- KEYS[4] cpec:ntf:digests  KEYS[5] cpec:ntf:fanout (the fan-out lock)
-- ARGV[1] the caller's lock token
-- ARGV[2] group  ARGV[3] now (ms)  ARGV[4] keep (s, a finished delivery)
-- ARGV[5] how long an event is kept for its deliveries (s)
-- ARGV[6] A (stream ids to acknowledge)  ARGV[7] D (deliveries)
-- ARGV[8 .. 7+A] the stream ids
-- then per delivery, 7 values: subscription, delivery id, mode, packed
--   Delivery, digest time, event id, packed Event (given with the first
--   delivery of each event that needs it, else empty: the event is kept once,
--   in cpec:ntf:evt:{id}, for all its deliveries)
--   mode "q": queued for its subscription; "live": appended to the
--   subscription's live feed (delivered); "digest": kept for the next digest
-- Replies the number of deliveries recorded, or -1 when the lock is not
-- the caller's (nothing written: the events stay pending).

if redis.call('GET', KEYS[5]) ~= ARGV[1] then
    return -1
end
local prefix = 'cpec:ntf:'
local now = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local event_keep = tonumber(ARGV[5])
local acks = tonumber(ARGV[6])
local deliveries = tonumber(ARGV[7])
local first = 8 + acks
local recorded = 0

for i = 0, deliveries - 1 do
    local at = first + 7 * i
    local sub = ARGV[at]
    local id = ARGV[at + 1]
    local mode = ARGV[at + 2]
    local packed = ARGV[at + 3]
    local event = prefix .. 'evt:' .. ARGV[at + 5]
    if ARGV[at + 6] ~= '' and redis.call('EXISTS', event) == 0 then
        redis.call('HSET', event, 'v', '1', 'pb', ARGV[at + 6])
        redis.call('EXPIRE', event, event_keep)
    end
    local key = prefix .. 'dlv:' .. id
    if redis.call('EXISTS', key) == 0 then
        redis.call('HSET', key, 'v', '1', 'pb', packed)
        local hist = prefix .. 'hist:' .. sub
        redis.call('ZADD', hist, now, id)
        redis.call('ZREMRANGEBYRANK', hist, 0, -1001)
        if mode == 'q' then
            redis.call('RPUSH', prefix .. 'q:' .. sub, id)
            if not redis.call('ZSCORE', KEYS[3], sub) then
                redis.call('ZADD', KEYS[2], 'NX', now, sub)
            end
        elseif mode == 'live' then
            redis.call('XADD', prefix .. 'live:' .. sub, 'MAXLEN', '~', '10000', '*',
                       'd', id, 'pb', packed)
            redis.call('EXPIRE', key, keep)
        else
            redis.call('RPUSH', prefix .. 'digest:' .. sub, id)
            redis.call('ZADD', KEYS[4], 'NX', ARGV[at + 4], sub)
        end
        recorded = recorded + 1
    end
end

if acks > 0 then
    redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, 8, 7 + acks))
end
return recorded
