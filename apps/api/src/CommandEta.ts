import {
  type BucketId,
  type BudgetUsage,
  budgetKey,
  COMMAND_TYPES,
  commandBucket,
  Limits,
  RateBudget,
  type RateBudgetShape
} from "@cliq-mirror/core"
import type { CommandRecord } from "@cliq-mirror/db"
import { CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { Effect, Option } from "effect"
import { ApiAccounts } from "./Accounts.js"

export const bucketOf = commandBucket

const typesOf = (bucket: BucketId) => COMMAND_TYPES.filter(t => bucketOf(t) === bucket)

/** Commands one upstream call settles: the bulk endpoint carries up to 100 chats per call. */
export const carryOf = (bucket: BucketId): number => (bucket === "chats.bulk_update" ? Limits.bulkChatsMax : 1)

export interface EtaInput {
  /** Waiting commands of the same bucket key taken in before this one. */
  readonly ahead: number
  readonly carry: number
  readonly usage: Pick<BudgetUsage, "threshold" | "windowMs" | "marginMs" | "counted" | "lockedUntil" | "now">
  /** A stored eta (a backoff or a lock end) that the estimate never undercuts. */
  readonly stored: Date | null
}

/**
 * calls = ceil((ahead + 1) / carry); free = max(0, threshold − counted); start = max(now, lockedUntil);
 * eta = start when calls ≤ free, else start + ceil((calls − free) / threshold) × (window + margin); never before the
 * stored eta. `window + margin` is the budget's steady-state period: it admits at most `threshold` calls per it.
 */
export const estimateEta = (input: EtaInput): Date => {
  const { usage } = input
  const calls = Math.ceil((input.ahead + 1) / input.carry)
  const free = Math.max(0, usage.threshold - usage.counted)
  const start = Math.max(usage.now, usage.lockedUntil ?? 0)
  const at =
    calls <= free ? start : start + Math.ceil((calls - free) / usage.threshold) * (usage.windowMs + usage.marginMs)
  return new Date(Math.round(Math.max(at, input.stored?.getTime() ?? 0)))
}

interface Group {
  readonly key: string
  readonly bucket: BucketId
  readonly accountIds: ReadonlyArray<string>
  readonly commands: Array<CommandRecord>
}

/**
 * The `eta` of commands: for `waiting_rate_limit` the stored one (when the budget will take it); for `queued` an
 * estimate from its place in its bucket and the shared rate budget; null otherwise. A budget that cannot be read
 * leaves queued commands with their stored eta (a backoff) or null.
 */
export class CommandEta extends Effect.Service<CommandEta>()("@cliq-mirror/api/CommandEta", {
  effect: Effect.gen(function* () {
    // Optional so that ApiHttpLive keeps its requirements; every served API (main.ts, `npm start`, the tests' harness)
    // has a RateBudget, and without one queued commands show their stored eta.
    const maybeBudget = yield* Effect.serviceOption(RateBudget)
    const query = yield* CommandsQuery
    const accounts = yield* ApiAccounts

    const estimateGroup = (budget: RateBudgetShape, group: Group) =>
      Effect.gen(function* () {
        const [ahead, usage] = yield* Effect.all(
          [
            query.ahead({
              accountIds: group.accountIds,
              types: typesOf(group.bucket),
              commandIds: group.commands.map(c => c.id)
            }),
            budget.usage({ key: group.key, bucket: group.bucket })
          ],
          { concurrency: 2 }
        )
        return group.commands.map(
          c =>
            [
              c.id,
              estimateEta({ ahead: ahead.get(c.id) ?? 0, carry: carryOf(group.bucket), usage, stored: c.eta })
            ] as const
        )
      }).pipe(
        Effect.catchTag("RateBudgetError", error =>
          Effect.as(
            Effect.logDebug("eta without the rate budget", error.message),
            group.commands.map(c => [c.id, c.eta] as const)
          )
        )
      )

    const of = Effect.fn("CommandEta.of")(function* (commands: ReadonlyArray<CommandRecord>) {
      const etas = new Map<string, Date | null>(
        commands.map(c => [c.id, c.status === "waiting_rate_limit" || c.status === "queued" ? c.eta : null])
      )
      if (Option.isNone(maybeBudget)) return etas
      const budget = maybeBudget.value
      const groups = new Map<string, Group>()
      for (const c of commands) {
        if (c.status !== "queued") continue
        const bucket = bucketOf(c.type)
        const key = budgetKey({ id: c.accountId, clientKey: accounts.clientKey(c.accountId) }, bucket, budget.buckets)
        const group = groups.get(`${key}|${bucket}`) ?? {
          key,
          bucket,
          accountIds: budget.buckets[bucket].scope === "user" ? [c.accountId] : accounts.sameClient(c.accountId),
          commands: []
        }
        group.commands.push(c)
        groups.set(`${key}|${bucket}`, group)
      }
      const estimated = yield* Effect.forEach([...groups.values()], g => estimateGroup(budget, g), { concurrency: 4 })
      for (const [id, eta] of estimated.flat()) etas.set(id, eta)
      return etas
    })

    return { of } as const
  })
}) {}
