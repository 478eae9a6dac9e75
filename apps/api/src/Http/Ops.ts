import { Database } from "@cliq-mirror/db"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api } from "../Api.js"
import { Health, Ready } from "../Dto/Ops.js"
import { NotReady } from "../Errors.js"
import { renderMetrics } from "../Metrics.js"
import { Redis } from "../Redis.js"

const answers = <E, R>(check: Effect.Effect<void, E, R>) =>
  check.pipe(
    Effect.timeout("2 seconds"),
    Effect.as(true),
    Effect.catchAll(() => Effect.succeed(false))
  )

export const OpsLive = HttpApiBuilder.group(Api, "ops", handlers =>
  Effect.gen(function* () {
    const database = yield* Database
    const redis = yield* Redis
    return handlers
      .handle("healthz", () => Effect.succeed(new Health({ status: "ok" })))
      .handle("readyz", () =>
        Effect.gen(function* () {
          const [postgres, redisUp] = yield* Effect.all([answers(database.ping), answers(redis.ping)], {
            concurrency: 2
          })
          const down = [postgres ? [] : ["postgres"], redisUp ? [] : ["redis"]].flat()
          if (down.length > 0) return yield* Effect.fail(NotReady.of(`not answering: ${down.join(", ")}`))
          return new Ready({ status: "ok", postgres: "ok", redis: "ok" })
        })
      )
      .handle("metrics", () => renderMetrics(database))
  })
)
