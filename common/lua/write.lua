-- write.lua: the transactional-outbox write of cpec_store_write (see
-- common/cpec_store.h). All checks run before the first write, so a failing
-- check changes nothing.
--
-- KEYS[1]                   cpec:req:<request id> (the idempotency record)
-- KEYS[2]                   cpec:events (the event stream)
-- KEYS[3 .. 2+P]            the entity hashes (fields v, pb)
-- KEYS[3+P .. 2+P+I]        the index keys, one per index operation
-- ARGV[1]                   idempotency ttl, seconds
-- ARGV[2], ARGV[3], ARGV[4] P (entities), I (index operations), E (events)
-- ARGV[5]                   the packed answer
-- ARGV[6 ..]                per entity: expected version, packed bytes; or
--                           "d<expected version>" and "": delete it (it must
--                           exist; expected version 0: whatever its version)
-- then                      per index operation: op, member, score
--                           (op: 1 SADD, 2 SREM, 3 ZADD, 4 ZREM, 5 INCRBYFLOAT,
--                           6 ZADD with the value of the last INCRBYFLOAT)
-- then                      per event: type, packed bytes
--
-- Replies {0, answer} when the request id was seen before (nothing written),
-- {1, stream id of the last event or ""} when written. Errors start with a
-- stable code: ABORTED, ALREADY_EXISTS, NOT_FOUND, WRONGTYPE, INVALID.

local ttl = tonumber(ARGV[1])
if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
    return redis.error_reply('INVALID idempotency ttl ' .. tostring(ARGV[1]) .. ' is not a whole number of seconds >= 1')
end
local puts = tonumber(ARGV[2])
local indexes = tonumber(ARGV[3])
local events = tonumber(ARGV[4])
local first_put = 6                           -- ARGV index of entity 1
local first_index = first_put + 2 * puts      -- of index operation 1
local first_event = first_index + 3 * indexes -- of event 1

local seen = redis.call('GET', KEYS[1])
if seen then
    return {0, seen}
end

-- Each key's type is asked once (many index operations share a key).
local types = {}
local function key_type(key)
    local found = types[key]
    if not found then
        found = redis.call('TYPE', key)['ok']
        types[key] = found
    end
    return found
end

local function wrong_type(key, found, wanted)
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. found .. ', expected a ' .. wanted)
end

-- 1. checks
local stream_type = key_type(KEYS[2])
if events > 0 and stream_type ~= 'none' and stream_type ~= 'stream' then
    return wrong_type(KEYS[2], stream_type, 'stream')
end

for i = 1, puts do
    local key = KEYS[2 + i]
    local expected_text = ARGV[first_put + 2 * (i - 1)]
    local delete = string.sub(expected_text, 1, 1) == 'd'
    local expected = tonumber(delete and string.sub(expected_text, 2) or expected_text)
    -- The version straight away (one call for the usual case, an existing
    -- hash); TYPE only when there is none or the key is not a hash.
    local version = redis.pcall('HGET', key, 'v')
    local found_type = 'hash'
    if version == false or type(version) == 'table' then
        found_type = key_type(key)
    end
    if found_type == 'none' then
        if delete then
            return redis.error_reply('NOT_FOUND ' .. key .. ' not found')
        elseif expected ~= 0 then
            return redis.error_reply('NOT_FOUND ' .. key .. ' not found (expected version ' .. expected .. ')')
        end
    elseif found_type ~= 'hash' then
        return wrong_type(key, found_type, 'hash')
    else
        local found = tonumber(version) or 0
        if delete then
            if expected ~= 0 and found ~= expected then
                return redis.error_reply('ABORTED version mismatch for ' .. key .. ': expected ' ..
                                         expected .. ', found ' .. found)
            end
        elseif expected == 0 then
            return redis.error_reply('ALREADY_EXISTS ' .. key .. ' already exists')
        elseif found ~= expected then
            return redis.error_reply('ABORTED version mismatch for ' .. key .. ': expected ' ..
                                     expected .. ', found ' .. found)
        end
    end
end

local wanted_types = {'set', 'set', 'zset', 'zset', 'string', 'zset'}
local counted = false
for i = 1, indexes do
    local key = KEYS[2 + puts + i]
    local op = tonumber(ARGV[first_index + 3 * (i - 1)])
    local wanted = wanted_types[op]
    if not wanted then
        return redis.error_reply('INVALID unknown index operation ' .. tostring(op) .. ' on ' .. key)
    end
    local found_type = key_type(key)
    if found_type ~= 'none' and found_type ~= wanted then
        return wrong_type(key, found_type, wanted)
    end
    if op == 5 and found_type == 'string' and not tonumber(redis.call('GET', key)) then
        return redis.error_reply('WRONGTYPE ' .. key .. ' does not hold a number')
    end
    if op == 5 then
        counted = true
    elseif op == 6 and not counted then
        return redis.error_reply('INVALID ZADD_LAST on ' .. key .. ' without an INCRBYFLOAT before it')
    end
end

-- 2. writes
local last_count = nil
for i = 1, puts do
    local expected_text = ARGV[first_put + 2 * (i - 1)]
    if string.sub(expected_text, 1, 1) == 'd' then
        redis.call('DEL', KEYS[2 + i])
    else
        local packed = ARGV[first_put + 2 * (i - 1) + 1]
        redis.call('HSET', KEYS[2 + i], 'v', tostring(tonumber(expected_text) + 1), 'pb', packed)
    end
end

for i = 1, indexes do
    local key = KEYS[2 + puts + i]
    local op = tonumber(ARGV[first_index + 3 * (i - 1)])
    local member = ARGV[first_index + 3 * (i - 1) + 1]
    local score = ARGV[first_index + 3 * (i - 1) + 2]
    if op == 1 then
        redis.call('SADD', key, member)
    elseif op == 2 then
        redis.call('SREM', key, member)
    elseif op == 3 then
        redis.call('ZADD', key, score, member)
    elseif op == 4 then
        redis.call('ZREM', key, member)
    elseif op == 5 then
        last_count = redis.call('INCRBYFLOAT', key, score)
    else
        redis.call('ZADD', key, last_count, member)
    end
end

local stream_id = ''
for i = 1, events do
    stream_id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*',
                           'type', ARGV[first_event + 2 * (i - 1)],
                           'pb', ARGV[first_event + 2 * (i - 1) + 1])
end

redis.call('SET', KEYS[1], ARGV[5], 'EX', ttl)
return {1, stream_id}
