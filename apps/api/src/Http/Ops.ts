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

/** Failures in a row after which a stream's upstream counts as unreachable for /readyz. */
export const UPSTREAM_FAILURES_NOT_READY = 3

/** What the daemon recorded in PostgreSQL: refused credentials, and streams failing pass after pass. */
const upstreamProblems = (database: Database) =>
  database.use(async (_, sql) => {
    const refused = await sql<Array<{ account_id: string; reason: string | null }>>`
      select account_id, reason from account_credentials where state <> 'ok' order by account_id`
    const failing = await sql<Array<{ account_id: string; stream: string; code: string | null }>>`
      select account_id, stream, last_error->>'code' as code from sync_state
      where consecutive_failures >= ${UPSTREAM_FAILURES_NOT_READY} order by account_id, stream`
    return [
      ...refused.map(r => `${r.account_id} credentials refused (${r.reason ?? "unknown"})`),
      ...failing.map(f => `${f.account_id}/${f.stream} failing (${f.code ?? "unknown"})`)
    ]
  })

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
          const upstream = yield* upstreamProblems(database).pipe(Effect.orElseSucceed(() => []))
          if (upstream.length > 0) return yield* Effect.fail(NotReady.of(`upstream: ${upstream.join("; ")}`))
          return new Ready({ status: "ok", postgres: "ok", redis: "ok" })
        })
      )
      .handle("metrics", () => renderMetrics(database))
  })
)
