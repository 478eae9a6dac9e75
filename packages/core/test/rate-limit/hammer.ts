// A separate OS process hammering buckets through RateBudgetRedis (spawned by RateBudgetProcesses.test.ts and the
// benchmark). Prints "ready", reads {"startAt","endAt"} (Redis-clock ms) on stdin, works in between, prints the result.
import { createInterface } from "node:readline"
import { Console, Effect } from "effect"
import { BUCKETS, type BucketId } from "../../src/Cliq/Buckets.js"
import { type BucketLock, type BudgetRequest, RateBudget } from "../../src/RateLimit/RateBudget.js"
import * as RateBudgetRedis from "../../src/RateLimit/RateBudgetRedis.js"

export interface HammerPlan {
  readonly redisUrl: string
  readonly prefix: string
  readonly timeScale: number
  readonly targets: ReadonlyArray<BudgetRequest & { readonly fibers: number }>
  readonly lock?: { readonly key: string; readonly bucket: BucketId; readonly afterMs: number }
}

export interface HammerResult {
  readonly grants: ReadonlyArray<{ readonly bucket: BucketId; readonly at: number }>
  readonly lock: BucketLock | null
}

const readLine = Effect.async<string>(resume => {
  const lines = createInterface({ input: process.stdin })
  lines.once("line", line => {
    lines.close()
    resume(Effect.succeed(line))
  })
})

const run = (plan: HammerPlan) =>
  Effect.gen(function* () {
    const budget = yield* RateBudget
    const clock = { key: "hammer-clock", bucket: "chats.get" as const }
    yield* Console.log("ready")
    const { startAt, endAt } = JSON.parse(yield* readLine) as { startAt: number; endAt: number }
    yield* Effect.sleep(Math.max(0, startAt - (yield* budget.usage(clock)).now))

    const grants: Array<HammerResult["grants"][number]> = []
    const hammer = (request: BudgetRequest) =>
      Effect.gen(function* () {
        let known = startAt
        while (true) {
          const decision = yield* budget.acquireWithin(request, Math.max(0, endAt - known))
          if (decision._tag === "Denied") return
          if (decision.at >= endAt) return yield* budget.refund(decision)
          known = decision.at
          grants.push({ bucket: request.bucket, at: decision.at })
        }
      })
    const locker = plan.lock
      ? Effect.sleep(plan.lock.afterMs).pipe(Effect.zipRight(budget.lock(plan.lock!)))
      : Effect.succeed(null)
    const [lock] = yield* Effect.all(
      [locker, ...plan.targets.flatMap(t => Array.from({ length: t.fibers }, () => hammer(t)))],
      { concurrency: "unbounded" }
    )
    yield* Console.log(JSON.stringify({ grants, lock } satisfies HammerResult))
  })

const plan = JSON.parse(process.argv[2] ?? "{}") as HammerPlan
Effect.runPromise(
  run(plan).pipe(
    Effect.provide(
      RateBudgetRedis.layer({
        buckets: BUCKETS,
        timeScale: plan.timeScale,
        redis: plan.redisUrl,
        prefix: plan.prefix,
        freshRedis: true
      })
    )
  )
).then(
  () => process.exit(0),
  error => {
    console.error(error)
    process.exit(1)
  }
)
