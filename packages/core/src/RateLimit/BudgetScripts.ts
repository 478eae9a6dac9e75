// Times are integer microseconds from Redis TIME, the one clock every process shares. Scores and the lock value are
// written with %.0f so no digit is lost to Lua's number formatting.

const NOW = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

// The epoch marker is written once and never expires. Missing, it means the budget's state is gone (a wipe, a restart
// without persistence, an eviction) or was never there: the first script to see that records when, and every bucket
// counts as full for one effective window from that moment. A script runs alone, so one moment wins however many
// processes notice together.
const LOST_AT = `
local function lostAt(marker)
  local v = redis.call("GET", marker)
  if v then return tonumber(v) end
  redis.call("SET", marker, string.format("%.0f", now))
  return now
end
`

// A key's expiry only ever moves later here. The log must outlive every slot it holds: a slot counts for a window after
// its last move, and a slot in flight until maxFlight after its grant, however long nothing else touches the bucket (a
// loaded process can take seconds between a grant and the call's answer). An expiry reset to one window + 1 s by a
// later write used to drop slots still in flight.
const KEEP = `
local function keep(key, ms)
  local left = redis.call("PTTL", key)
  if left == -1 or (left >= 0 and left < ms) then redis.call("PEXPIRE", key, string.format("%.0f", ms)) end
end
`

/**
 * KEYS: log, lock, epoch, flight. ARGV: windowUs, threshold, cost, slotId, self, cap, maxFlightUs, then (share,
 * reservedSlots) pairs. Returns {1, slotId, nowUs, nowUs, lostAtUs} or {0, reason, retryAtUs, nowUs, lostAtUs}. Same
 * rule as Admission.admit.
 */
export const acquireScript = `${NOW}${LOST_AT}${KEEP}
local window = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local slot = ARGV[4]
local self = ARGV[5]
local cap = tonumber(ARGV[6])
local maxFlight = tonumber(ARGV[7])
local reserves = {}
for i = 8, #ARGV, 2 do reserves[ARGV[i]] = tonumber(ARGV[i + 1]) end
local shared = cap >= 0 or #ARGV > 7

local lost = lostAt(KEYS[3])
local locked = tonumber(redis.call("GET", KEYS[2]))
if locked and locked > now and locked >= lost + window then return {0, "locked", locked, now, lost} end
if lost + window > now then return {0, "recovering", lost + window, now, lost} end

-- A call granted but not ended yet (neither settled nor refunded) may still arrive: its slot does not age out, it
-- counts for one more window each time it would, until maxFlight after its grant (a caller that died never settles).
local cutoff = string.format("%.0f", now - window)
local expired = {}
if maxFlight > 0 then expired = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", cutoff) end
if #expired > 0 then
  redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", string.format("%.0f", now - maxFlight))
  local kept = false
  for _, m in ipairs(expired) do
    if redis.call("ZSCORE", KEYS[4], m) then
      redis.call("ZADD", KEYS[1], string.format("%.0f", now), m)
      kept = true
    end
  end
  if kept then keep(KEYS[1], math.ceil(window / 1000) + 1000) end
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", cutoff)
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
  keep(KEYS[1], math.ceil(math.max(window, maxFlight) / 1000) + 1000)
  if maxFlight > 0 then
    redis.call("ZADD", KEYS[4], score, slot)
    for i = 2, cost do redis.call("ZADD", KEYS[4], score, slot .. "#" .. i) end
    keep(KEYS[4], math.ceil(maxFlight / 1000) + 1000)
  end
  return {1, slot, now, now, lost}
end

if not shared then
  local index = total + cost - threshold - 1
  local oldest = redis.call("ZRANGE", KEYS[1], index, index, "WITHSCORES")
  return {0, reason, tonumber(oldest[2]) + window, now, lost}
end
for i = 1, #log, 2 do
  local s = string.match(log[i], "^([^|]*)|")
  used[s] = used[s] - 1
  total = total - 1
  if not blocked(total, used) then return {0, reason, tonumber(log[i + 1]) + window, now, lost} end
end
return {0, reason, now + window, now, lost}
`

/**
 * KEYS: log, epoch, flight. ARGV: windowUs (effective), then the grant's members. The call has ended: its members
 * leave the flight set, and each one still in the log moves to now, never back; keeps the log alive for a window from now. While the bucket recovers from lost state, the grant's
 * members are written back (the call was made before the loss and has arrived now). The log's expiry is never brought
 * forward (other slots may still be in flight). Returns nowUs.
 */
export const settleScript = `${NOW}${LOST_AT}${KEEP}
local score = string.format("%.0f", now)
for i = 2, #ARGV do redis.call("ZREM", KEYS[3], ARGV[i]) end
if lostAt(KEYS[2]) + tonumber(ARGV[1]) > now then
  for i = 2, #ARGV do redis.call("ZADD", KEYS[1], "GT", score, ARGV[i]) end
else
  for i = 2, #ARGV do redis.call("ZADD", KEYS[1], "XX", "GT", score, ARGV[i]) end
end
keep(KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
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

/** KEYS: log, flight. ARGV: the grant's members. A call never sent: its slot is given back. */
export const refundScript = `
for i = 1, #ARGV do
  redis.call("ZREM", KEYS[1], ARGV[i])
  redis.call("ZREM", KEYS[2], ARGV[i])
end
return 0
`

/**
 * KEYS: lock. ARGV: lockedUntilUs. Re-imposes a lock known from elsewhere: extends, never shortens; a past deadline
 * does nothing. Returns {lockedUntilUs or 0, nowUs}.
 */
export const restoreLockScript = `${NOW}
local target = tonumber(ARGV[1])
local current = tonumber(redis.call("GET", KEYS[1]))
if current and current >= target then return {current, now} end
if target <= now then return {current or 0, now} end
redis.call("SET", KEYS[1], string.format("%.0f", target), "PX", string.format("%.0f", math.ceil((target - now) / 1000)))
return {target, now}
`

/**
 * KEYS: log, lock, epoch. ARGV: windowUs (effective), rawWindowUs. Read-only.
 * Returns {nowUs, lockedUntilUs or 0, usedInRawWindow, counted, recoveringUntilUs or 0, share1, n1, share2, n2, ...};
 * with the epoch marker missing, recovering until a window from now, as the next decision would impose.
 */
export const usageScript = `${NOW}
local locked = tonumber(redis.call("GET", KEYS[2]))
if not locked or locked <= now then locked = 0 end
local lost = tonumber(redis.call("GET", KEYS[3])) or now
local recovering = lost + tonumber(ARGV[1])
if recovering <= now then recovering = 0 end
local members = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. string.format("%.0f", now - tonumber(ARGV[1])), "+inf")
local recent = redis.call("ZCOUNT", KEYS[1], "(" .. string.format("%.0f", now - tonumber(ARGV[2])), "+inf")
local counts = {}
local order = {}
for _, m in ipairs(members) do
  local s = string.match(m, "^([^|]*)|")
  if not counts[s] then counts[s] = 0; order[#order + 1] = s end
  counts[s] = counts[s] + 1
end
local reply = {now, locked, recent, #members, recovering}
for _, s in ipairs(order) do reply[#reply + 1] = s; reply[#reply + 1] = counts[s] end
return reply
`
