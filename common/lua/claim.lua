-- claim.lua: takes the timers that are due, for one replica, for a lease (the
-- milestones' delays and the matchmaking expiries share it).
--
-- KEYS[1]  cpec:ms:timers  sorted set: member -> when it is due (Unix ms)
-- KEYS[2]  cpec:ms:leases  sorted set: member -> when its lease ends
-- ARGV[1]  now (Unix ms), ARGV[2] at most this many, ARGV[3] lease (ms),
-- ARGV[4]  a token unique to this claim
--
-- First the members whose lease ended (their replica died or stalled), then
-- those due: each moves to the leases until now + lease, as "member|token".
-- Atomic, so that with any number of replicas a member is taken by one at a
-- time; the token makes each claim's lease its own, so that the replica that
-- finishes removes its lease and never another's (a member put back in the
-- timers by a change and claimed again meanwhile keeps its new lease).
--
-- Replies {members taken (with their token), next} where next is the earliest time (Unix ms,
-- as text) at which a timer falls due or a lease ends, "-1" when none.

local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local token = ARGV[4]
if not now or not limit or not lease or limit < 1 or not token or token == '' then
    return redis.error_reply('INVALID claim arguments')
end

local taken = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(expired) do
    redis.call('ZREM', KEYS[2], member)
    local claimed = (string.match(member, '^(.*)|[^|]*$') or member) .. '|' .. token
    redis.call('ZADD', KEYS[2], now + lease, claimed)
    taken[#taken + 1] = claimed
end
if #taken < limit then
    -- due strictly before now: a milestone is late once its planned due has passed
    local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, limit - #taken)
    for _, member in ipairs(due) do
        redis.call('ZREM', KEYS[1], member)
        local claimed = member .. '|' .. token
        redis.call('ZADD', KEYS[2], now + lease, claimed)
        taken[#taken + 1] = claimed
    end
end

local next = -1
for _, key in ipairs(KEYS) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if #first == 2 then
        local at = tonumber(first[2])
        if next < 0 or at < next then
            next = at
        end
    end
end
return {taken, string.format('%d', next)}
