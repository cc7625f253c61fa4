"""The Lua scripts that change stock in Redis, one per operation, each mirroring ``domain``.

Redis runs a script atomically: no other command (of any worker) runs in between, so
the check of every line and the taking of every unit are one step, and two workers can
never both take the last unit. Each script reads and writes the order's record in the
same step, which is what makes redelivery safe: a script that finds the order already
decided changes nothing and returns the record as it is.

Keys, under the store's prefix ``P`` (``inventory:`` by default):

- ``P stock:<product>``, a hash: ``name``, ``price``, the ``domain.Counters`` fields
  and ``ts``, the product's version in microseconds since the epoch (Redis ``TIME``,
  strictly increasing per product: the ``occurred_at`` of its ``StockLevel``).
- ``P products``, a set of every seeded product id.
- ``P order:<order id>``, a hash with a TTL: ``state``, ``lines`` and ``shortages``
  (JSON arrays), ``placed``/``placed_corr``/``placed_at`` and ``outcome``/
  ``outcome_corr``/``outcome_at``/``outcome_kind`` (the ``domain.Cause`` fields).

Every operation script takes ``ARGV[1]`` = the prefix, ``ARGV[2]`` = the order TTL in
seconds, ``ARGV[3]`` = the event id, ``ARGV[4]`` = the correlation id, and ``KEYS[1]``
= the order key. It returns one JSON string, ``[record, levels]``: the order's hash as
an object, and one ``[product, name, price, available, reserved, sold, ts]`` per
product in ``domain.touched(record)`` (Lua's cjson writes an empty array as ``{}``).

``RELEASE`` and ``COMMIT`` find the products in the order's record, so they touch stock
keys that are not in ``KEYS``: fine on one Redis server (which this platform uses),
refused by Redis Cluster. A cluster could not serve this design anyway: an order's
products hash to different slots, and an all-or-none reservation across slots needs
them on one shard.
"""

from __future__ import annotations

_PRELUDE = """
local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])

local function fmt(n)
  return string.format('%.0f', n)
end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function stock_key(product)
  return prefix .. 'stock:' .. product
end

-- A product's version: now, or one microsecond after its last one.
local function bump(key, now)
  local last = tonumber(redis.call('HGET', key, 'ts') or '0')
  if now <= last then now = last + 1 end
  redis.call('HSET', key, 'ts', fmt(now))
end

local TAKE = {{'available', -1}, {'reserved', 1}, {'units_reserved', 1}}
local PUT_BACK = {{'available', 1}, {'reserved', -1}, {'units_released', 1}}
local SELL = {{'reserved', -1}, {'sold', 1}, {'units_committed', 1}}

local function move(lines, deltas, now)
  for _, line in ipairs(lines) do
    local key = stock_key(line[1])
    for _, delta in ipairs(deltas) do
      redis.call('HINCRBY', key, delta[1], delta[2] * line[2])
    end
    bump(key, now)
  end
end

local function lines_of(order)
  local raw = redis.call('HGET', order, 'lines')
  if not raw then return {} end
  return cjson.decode(raw)
end

local HOLDING = {reserved = true, released = true, committed = true}

-- One JSON string: redis-py parses a nested array reply element by element in Python,
-- which costs more than the whole script; a string is one read and one C-speed decode.
local function reply(order)
  local flat = redis.call('HGETALL', order)
  local record = {}
  for i = 1, #flat, 2 do
    record[flat[i]] = flat[i + 1]
  end
  local levels = {}
  if HOLDING[record.state] then
    for _, line in ipairs(cjson.decode(record.lines)) do
      local level = redis.call(
        'HMGET', stock_key(line[1]), 'name', 'price', 'available', 'reserved', 'sold', 'ts')
      table.insert(level, 1, line[1])
      levels[#levels + 1] = level
    end
  end
  return cjson.encode({record, levels})
end
"""

#: ``OrderPlaced`` (``domain.on_placed``). ``KEYS[2..n+1]``: the stock keys of the order's
#: products; ``ARGV[5..]``: ``product, units`` pairs in the same order (``domain.demand``).
RESERVE = (
    _PRELUDE
    + """
local order = KEYS[1]
local state = redis.call('HGET', order, 'state')
if state and state ~= 'cancelled' and state ~= 'completed' then
  return reply(order)
end
local now = now_us()
local lines, short = {}, {}
for i = 2, #KEYS do
  local product = ARGV[2 * i + 1]
  local units = tonumber(ARGV[2 * i + 2])
  local available = tonumber(redis.call('HGET', KEYS[i], 'available') or '0')
  lines[#lines + 1] = {product, units}
  if available < units then
    short[#short + 1] = {product, units, available}
  end
end
redis.call('HSET', order, 'placed', ARGV[3], 'placed_corr', ARGV[4], 'placed_at', fmt(now))
if #short > 0 then
  redis.call('HSET', order, 'state', 'rejected', 'shortages', cjson.encode(short))
else
  move(lines, TAKE, now)
  local final = 'reserved'
  if state == 'cancelled' then
    move(lines, PUT_BACK, now)
    final = 'released'
  elseif state == 'completed' then
    move(lines, SELL, now)
    final = 'committed'
  end
  redis.call('HSET', order, 'state', final, 'lines', cjson.encode(lines))
end
redis.call('EXPIRE', order, ttl)
return reply(order)
"""
)

_OUTCOME = (
    _PRELUDE
    + """
local order = KEYS[1]
local state = redis.call('HGET', order, 'state')
local now = now_us()
local function record_outcome()
  redis.call('HSET', order, 'outcome', ARGV[3], 'outcome_corr', ARGV[4],
    'outcome_at', fmt(now), 'outcome_kind', '{kind}')
end
if not state then
  record_outcome()
  redis.call('HSET', order, 'state', '{kind}')
elseif state == 'reserved' then
  move(lines_of(order), {deltas}, now)
  record_outcome()
  redis.call('HSET', order, 'state', '{settled}')
elseif state == 'rejected' and redis.call('HEXISTS', order, 'outcome') == 0 then
  record_outcome()
else
  return reply(order)
end
redis.call('EXPIRE', order, ttl)
return reply(order)
"""
)

#: ``OrderCancelled`` (``domain.on_cancelled``): ``KEYS[1]`` only.
RELEASE = _OUTCOME.replace("{kind}", "cancelled").replace("{settled}", "released")
RELEASE = RELEASE.replace("{deltas}", "PUT_BACK")
#: ``OrderCompleted`` (``domain.on_completed``): ``KEYS[1]`` only.
COMMIT = _OUTCOME.replace("{kind}", "completed").replace("{settled}", "committed")
COMMIT = COMMIT.replace("{deltas}", "SELL")

#: Load the catalogue (``domain.stocked`` / ``domain.restocked``). ``KEYS``: the stock
#: keys; ``ARGV[1]``: the prefix; ``ARGV[2]``: ``create`` (only absent products) or
#: ``restock`` (also set existing products back to their level); then ``product, name,
#: price, level`` per key. Returns ``{product, action, name, price, available, reserved,
#: sold, ts}`` per product, ``action`` being ``created``, ``restocked``, ``unchanged``
#: or ``kept``.
SEED = """
local prefix = ARGV[1]
local mode = ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function bump(key)
  local last = tonumber(redis.call('HGET', key, 'ts') or '0')
  local ts = now
  if ts <= last then ts = last + 1 end
  redis.call('HSET', key, 'ts', string.format('%.0f', ts))
end
local out = {}
for i, key in ipairs(KEYS) do
  local base = 2 + 4 * (i - 1)
  local product, name, price = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local level = tonumber(ARGV[base + 4])
  local action = 'kept'
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'name', name, 'price', price, 'stocked', level,
      'available', level, 'reserved', 0, 'sold', 0,
      'units_reserved', 0, 'units_released', 0, 'units_committed', 0)
    bump(key)
    action = 'created'
  elseif mode == 'restock' then
    local current = redis.call('HMGET', key, 'available', 'name', 'price')
    local available = tonumber(current[1])
    if available == level and current[2] == name and current[3] == price then
      action = 'unchanged'
    else
      redis.call('HINCRBY', key, 'stocked', level - available)
      redis.call('HSET', key, 'available', level, 'name', name, 'price', price)
      bump(key)
      action = 'restocked'
    end
  end
  redis.call('SADD', prefix .. 'products', product)
  local row = redis.call('HMGET', key, 'name', 'price', 'available', 'reserved', 'sold', 'ts')
  table.insert(row, 1, action)
  table.insert(row, 1, product)
  out[#out + 1] = row
end
return out
"""
