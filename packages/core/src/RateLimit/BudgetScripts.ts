// Times are integer microseconds from Redis TIME, the one clock every process shares. Scores and the lock value are
// written with %.0f so no digit is lost to Lua's number formatting.

const NOW = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

/**
 * KEYS: log, lock. ARGV: windowUs, threshold, cost, slotId, self, cap, then (share, reservedSlots) pairs.
 * Returns {1, slotId, nowUs, nowUs} or {0, reason, retryAtUs, nowUs}. Same rule as Admission.admit.
 */
export const acquireScript = `${NOW}
local window = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local slot = ARGV[4]
local self = ARGV[5]
local cap = tonumber(ARGV[6])
local reserves = {}
for i = 7, #ARGV, 2 do reserves[ARGV[i]] = tonumber(ARGV[i + 1]) end
local shared = cap >= 0 or #ARGV > 6

local locked = tonumber(redis.call("GET", KEYS[2]))
if locked and locked > now then return {0, "locked", locked, now} end

redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("%.0f", now - window))
local total = redis.call("ZCARD", KEYS[1])

local function blocked(total, used)
  if total + cost > threshold then return "window_full" end
  if cap >= 0 and (used[self] or 0) + cost > cap then return "share_exhausted" end
  local held = total
  for name, reserve in pairs(reserves) do
    local u = used[name] or 0
    if u < reserve then held = held + reserve - u end
  end
  if held + cost > threshold then return "share_exhausted" end
  return false
end

local used = {}
local log
if shared and total > 0 then
  log = redis.call("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
  for i = 1, #log, 2 do
    local s = string.match(log[i], "^([^|]*)|")
    used[s] = (used[s] or 0) + 1
  end
end

local reason = blocked(total, used)
if not reason then
  local score = string.format("%.0f", now)
  redis.call("ZADD", KEYS[1], score, slot)
  for i = 2, cost do redis.call("ZADD", KEYS[1], score, slot .. "#" .. i) end
  redis.call("PEXPIRE", KEYS[1], string.format("%.0f", math.ceil(window / 1000) + 1000))
  return {1, slot, now, now}
end

if not shared then
  local index = total + cost - threshold - 1
  local oldest = redis.call("ZRANGE", KEYS[1], index, index, "WITHSCORES")
  return {0, reason, tonumber(oldest[2]) + window, now}
end
for i = 1, #log, 2 do
  local s = string.match(log[i], "^([^|]*)|")
  used[s] = used[s] - 1
  total = total - 1
  if not blocked(total, used) then return {0, reason, tonumber(log[i + 1]) + window, now} end
end
return {0, reason, now + window, now}
`

/**
 * KEYS: log. ARGV: windowUs (effective), then the grant's members. Moves each member still in the log to now, never
 * back; keeps the log alive for a window from now. Returns nowUs.
 */
export const settleScript = `${NOW}
local score = string.format("%.0f", now)
for i = 2, #ARGV do redis.call("ZADD", KEYS[1], "XX", "GT", score, ARGV[i]) end
redis.call("PEXPIRE", KEYS[1], string.format("%.0f", math.ceil(tonumber(ARGV[1]) / 1000) + 1000))
return now
`

/**
 * KEYS: lock. ARGV: durationUs. Extends, never shortens. Returns {lockedUntilUs, nowUs}.
 */
export const lockScript = `${NOW}
local duration = tonumber(ARGV[1])
local target = now + duration
local current = tonumber(redis.call("GET", KEYS[1]))
if current and current >= target then return {current, now} end
redis.call("SET", KEYS[1], string.format("%.0f", target), "PX", string.format("%.0f", math.ceil(duration / 1000)))
return {target, now}
`

/**
 * KEYS: log, lock. ARGV: windowUs (effective), rawWindowUs. Read-only.
 * Returns {nowUs, lockedUntilUs or 0, usedInRawWindow, counted, share1, n1, share2, n2, ...}.
 */
export const usageScript = `${NOW}
local locked = tonumber(redis.call("GET", KEYS[2]))
if not locked or locked <= now then locked = 0 end
local members = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. string.format("%.0f", now - tonumber(ARGV[1])), "+inf")
local recent = redis.call("ZCOUNT", KEYS[1], "(" .. string.format("%.0f", now - tonumber(ARGV[2])), "+inf")
local counts = {}
local order = {}
for _, m in ipairs(members) do
  local s = string.match(m, "^([^|]*)|")
  if not counts[s] then counts[s] = 0; order[#order + 1] = s end
  counts[s] = counts[s] + 1
end
local reply = {now, locked, recent, #members}
for _, s in ipairs(order) do reply[#reply + 1] = s; reply[#reply + 1] = counts[s] end
return reply
`
