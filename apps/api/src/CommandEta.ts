import {
  type BucketId,
  type BudgetUsage,
  budgetKey,
  COMMAND_TYPES,
  carryOf,
  commandBucket,
  estimateEta,
  RateBudget,
  type RateBudgetShape
} from "@cliq-mirror/core"
import type { CommandRecord } from "@cliq-mirror/db"
import { CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { Effect, Option } from "effect"
import { ApiAccounts } from "./Accounts.js"

const typesOf = (bucket: BucketId) => COMMAND_TYPES.filter(t => commandBucket(t) === bucket)

type Usage = Pick<BudgetUsage, "threshold" | "windowMs" | "marginMs" | "counted" | "lockedUntil" | "now">

/** Core's one wait-for-your-turn rule (the daemon uses it too), over the budget's usage; a date on the budget's clock. */
const etaOf = (ahead: number, bucket: BucketId, usage: Usage, stored: Date | null): Date =>
  new Date(
    estimateEta({
      ahead,
      carry: carryOf(bucket),
      threshold: usage.threshold,
      periodMs: usage.windowMs + usage.marginMs,
      counted: usage.counted,
      now: usage.now,
      lockedUntil: usage.lockedUntil,
      stored: stored?.getTime() ?? null
    })
  )

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
        return group.commands.map(c => [c.id, etaOf(ahead.get(c.id) ?? 0, group.bucket, usage, c.eta)] as const)
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
        const bucket = commandBucket(c.type)
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
