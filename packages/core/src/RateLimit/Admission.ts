import type { SharePlan } from "./BudgetSettings.js"

export interface LogEntry {
  readonly member: string
  readonly share: string
  readonly atUs: number
  /** Grant time while the call has not ended (neither settled nor refunded). */
  readonly inFlightSinceUs?: number
}

/**
 * The log trimmed to the window ending at `nowUs`, oldest first. A call not ended yet may still arrive, so its slot does
 * not age out: it counts for one more window each time it would, until `maxFlightUs` after its grant.
 */
export const trimLog = (
  log: ReadonlyArray<LogEntry>,
  nowUs: number,
  windowUs: number,
  maxFlightUs: number
): Array<LogEntry> =>
  log
    .flatMap(entry =>
      entry.atUs > nowUs - windowUs
        ? [entry]
        : entry.inFlightSinceUs !== undefined && entry.inFlightSinceUs > nowUs - maxFlightUs
          ? [{ ...entry, atUs: nowUs }]
          : []
    )
    .sort((a, b) => a.atUs - b.atUs)

export type Verdict =
  | { readonly _tag: "Admit" }
  | { readonly _tag: "Block"; readonly reason: "window_full" | "share_exhausted"; readonly retryAtUs: number }

const blocked = (plan: SharePlan, cost: number, total: number, used: ReadonlyMap<string, number>) => {
  if (total + cost > plan.threshold) return "window_full" as const
  if (plan.cap >= 0 && (used.get(plan.self) ?? 0) + cost > plan.cap) return "share_exhausted" as const
  // Unused reserved slots of the other shares count as taken.
  let held = total
  for (const [name, reserve] of plan.reserves) held += Math.max(0, reserve - (used.get(name) ?? 0))
  return held + cost > plan.threshold ? ("share_exhausted" as const) : undefined
}

/**
 * The admission rule over a log already trimmed to the effective window, oldest first; `RateBudgetRedis`'s Lua script
 * is the same rule. retryAt = expiry of the first entry whose departure (and every older one's) would admit the request.
 */
export const admit = (log: ReadonlyArray<LogEntry>, plan: SharePlan, cost: number): Verdict => {
  const used = new Map<string, number>()
  for (const entry of log) used.set(entry.share, (used.get(entry.share) ?? 0) + 1)
  let total = log.length
  const reason = blocked(plan, cost, total, used)
  if (reason === undefined) return { _tag: "Admit" }
  for (const entry of log) {
    total -= 1
    used.set(entry.share, (used.get(entry.share) ?? 0) - 1)
    if (blocked(plan, cost, total, used) === undefined)
      return { _tag: "Block", reason, retryAtUs: entry.atUs + plan.windowUs }
  }
  return { _tag: "Block", reason, retryAtUs: (log[log.length - 1]?.atUs ?? 0) + plan.windowUs }
}

export const memberShare = (member: string): string => member.slice(0, member.indexOf("|"))

/** Members of one grant: `share|id` for the first slot, `share|id#n` for the others. */
export const grantMembers = (slotId: string, cost: number): ReadonlyArray<string> =>
  Array.from({ length: cost }, (_, i) => (i === 0 ? slotId : `${slotId}#${i + 1}`))
