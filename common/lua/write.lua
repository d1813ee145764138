-- write.lua: the transactional-outbox write of cpec_store_write (see
-- common/cpec_store.h). All checks run before the first write, so a failing
-- check changes nothing.
--
-- KEYS[1]                   cpec:req:<request id> (the idempotency record)
-- KEYS[2]                   cpec:events (the event stream)
-- KEYS[3 .. 2+P]            the entity hashes (fields v, pb)
-- KEYS[3+P .. 2+P+I]        the index keys, one per run of index operations
-- KEYS[3+P+I .. 2+P+I+G]    the hashes that hold field entities (fields
--                           v:{name}, pb:{name}; see cpec_store_set_hashed)
-- ARGV[1]                   idempotency ttl, seconds
-- ARGV[2], ARGV[3], ARGV[4] P (entities), I (runs of index operations), E (events)
-- ARGV[5]                   the packed answer
-- ARGV[6]                   G (hashes with field entities)
-- ARGV[7 ..]                per entity: expected version, packed bytes; or
--                           "d<expected version>" and "": delete it (it must
--                           exist; expected version 0: whatever its version)
-- then                      per hash: its count N of field entities, then N
--                           times expected version (or "d..." as above),
--                           name, packed bytes (or "")
-- then                      per run (operations in a row with one key and one
--                           op, done in one command): op, count N, then N
--                           members (op 1 SADD, 2 SREM, 4 ZREM, 6 ZADD with the
--                           value of the last INCRBYFLOAT), N score-member
--                           pairs (op 3 ZADD) or, N being 1, the increment
--                           (op 5 INCRBYFLOAT)
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
local hashes = tonumber(ARGV[6])
local first_put = 7                           -- ARGV index of entity 1
local chunk = 500                             -- values per command, well inside Lua's stack
-- Per hash of field entities: its key, its count, the ARGV index of its first
local groups = {}
local first_index = first_put + 2 * puts      -- of run 1, once past the hashes
for g = 1, hashes do
    local count = tonumber(ARGV[first_index])
    if not count or count < 1 then
        return redis.error_reply('INVALID ' .. tostring(ARGV[first_index]) .. ' field entities')
    end
    groups[g] = {KEYS[2 + puts + indexes + g], count, first_index + 1}
    first_index = first_index + 1 + 3 * count
end

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

-- The refusal of a put at expected_text ("<version>", or "d<version>" for a
-- delete) of the entity at key (or its field entity `name`: key:name),
-- which exists at version `found` or not; nil when the put may go.
local function put_refusal(key, name, expected_text, exists, found)
    local delete = string.byte(expected_text, 1) == 100 -- "d"
    local expected = tonumber(delete and string.sub(expected_text, 2) or expected_text)
    local reason
    if not exists then
        if delete then
            reason = 'NOT_FOUND %s not found'
        elseif expected ~= 0 then
            reason = 'NOT_FOUND %s not found (expected version ' .. expected .. ')'
        end
    elseif expected ~= 0 and found ~= expected then
        reason = 'ABORTED version mismatch for %s: expected ' .. expected .. ', found ' .. found
    elseif expected == 0 and not delete then
        reason = 'ALREADY_EXISTS %s already exists'
    end
    if reason then
        return redis.error_reply(string.format(reason, name and key .. ':' .. name or key))
    end
    return nil
end

-- 1. checks
local stream_type = key_type(KEYS[2])
if events > 0 and stream_type ~= 'none' and stream_type ~= 'stream' then
    return wrong_type(KEYS[2], stream_type, 'stream')
end

for i = 1, puts do
    local key = KEYS[2 + i]
    -- The version straight away (one call for the usual case, an existing
    -- hash); TYPE only when there is none or the key is not a hash.
    local version = redis.pcall('HGET', key, 'v')
    local found_type = 'hash'
    if version == false or type(version) == 'table' then
        found_type = key_type(key)
    end
    if found_type ~= 'none' and found_type ~= 'hash' then
        return wrong_type(key, found_type, 'hash')
    end
    local refusal = put_refusal(key, nil, ARGV[first_put + 2 * (i - 1)], found_type == 'hash',
                                tonumber(version) or 0)
    if refusal then
        return refusal
    end
end

-- The field entities' versions, a chunk of them per HMGET
for g = 1, hashes do
    local key, fields, first = groups[g][1], groups[g][2], groups[g][3]
    local found_type = key_type(key)
    if found_type ~= 'none' and found_type ~= 'hash' then
        return wrong_type(key, found_type, 'hash')
    end
    for start = 1, fields, chunk do
        local names = {}
        local last = math.min(fields, start + chunk - 1)
        for k = start, last do
            names[k - start + 1] = 'v:' .. ARGV[first + 3 * k - 2]
        end
        local versions = redis.call('HMGET', key, unpack(names))
        for k = start, last do
            local version = versions[k - start + 1]
            local refusal = put_refusal(key, ARGV[first + 3 * k - 2], ARGV[first + 3 * k - 3],
                                        version ~= false, tonumber(version) or 0)
            if refusal then
                return refusal
            end
        end
    end
end

local wanted_types = {'set', 'set', 'zset', 'zset', 'string', 'zset'}
local counted = false
local runs = {} -- per run: op, count, ARGV index of its first value
local at = first_index
for i = 1, indexes do
    local key = KEYS[2 + puts + i]
    local op = tonumber(ARGV[at])
    local count = tonumber(ARGV[at + 1])
    local wanted = wanted_types[op]
    if not wanted then
        return redis.error_reply('INVALID unknown index operation ' .. tostring(op) .. ' on ' .. key)
    end
    if not count or count < 1 or count ~= math.floor(count) or (op == 5 and count ~= 1) then
        return redis.error_reply('INVALID run of ' .. tostring(ARGV[at + 1]) .. ' operations on ' .. key)
    end
    runs[i] = {op, count, at + 2}
    at = at + 2 + (op == 3 and 2 * count or count)
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
local first_event = at -- ARGV index of event 1
if #ARGV ~= first_event - 1 + 2 * events then
    return redis.error_reply('INVALID ' .. #ARGV .. ' arguments where the counts say ' ..
                             (first_event - 1 + 2 * events))
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

-- The field entities: HSET and HDEL a chunk at a time. Of two puts of one
-- name the later wins, as if they were done one after the other.
for g = 1, hashes do
    local key, fields, first = groups[g][1], groups[g][2], groups[g][3]
    local last_put = {}
    for k = 1, fields do
        last_put[ARGV[first + 3 * k - 2]] = k
    end
    local sets, deletes = {}, {}
    local set_count, delete_count = 0, 0
    for k = 1, fields do
        local at = first + 3 * k - 3
        local expected_text = ARGV[at]
        local name = ARGV[at + 1]
        if last_put[name] ~= k then
            -- written over by a later put of this write
        elseif string.byte(expected_text, 1) == 100 then -- "d": a delete
            deletes[delete_count + 1] = 'v:' .. name
            deletes[delete_count + 2] = 'pb:' .. name
            delete_count = delete_count + 2
        else
            sets[set_count + 1] = 'v:' .. name
            sets[set_count + 2] = tostring(tonumber(expected_text) + 1)
            sets[set_count + 3] = 'pb:' .. name
            sets[set_count + 4] = ARGV[at + 2]
            set_count = set_count + 4
        end
    end
    for start = 1, set_count, 4 * chunk do
        redis.call('HSET', key, unpack(sets, start, math.min(set_count, start + 4 * chunk - 1)))
    end
    for start = 1, delete_count, 2 * chunk do
        redis.call('HDEL', key, unpack(deletes, start, math.min(delete_count, start + 2 * chunk - 1)))
    end
end

local commands = {'SADD', 'SREM', 'ZADD', 'ZREM'}
for i = 1, indexes do
    local key = KEYS[2 + puts + i]
    local op, count, first = runs[i][1], runs[i][2], runs[i][3]
    if op == 5 then
        last_count = redis.call('INCRBYFLOAT', key, ARGV[first])
    else
        local width = op == 3 and 2 or 1 -- values per operation
        local done = 0
        while done < count do
            local n = math.min(chunk, count - done)
            local args = {}
            for k = 0, n - 1 do
                local from = first + width * (done + k)
                if op == 6 then
                    args[2 * k + 1] = last_count
                    args[2 * k + 2] = ARGV[from]
                elseif width == 2 then
                    args[2 * k + 1] = ARGV[from]
                    args[2 * k + 2] = ARGV[from + 1]
                else
                    args[k + 1] = ARGV[from]
                end
            end
            redis.call(op == 6 and 'ZADD' or commands[op], key, unpack(args))
            done = done + n
        end
    end
end

local stream_id = ''
local stream = KEYS[2]
for i = 1, events do
    local at = first_event + 2 * i - 2
    stream_id = redis.call('XADD', stream, '*', 'type', ARGV[at], 'pb', ARGV[at + 1])
end
if events > 0 then -- the stream's bound, once per write
    redis.call('XTRIM', stream, 'MAXLEN', '~', '1000000')
end

redis.call('SET', KEYS[1], ARGV[5], 'EX', ttl)
return {1, stream_id}
