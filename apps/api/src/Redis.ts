import { Data, Effect, Redacted, Runtime } from "effect"
import { Redis as IORedis } from "ioredis"
import { RedisUrl } from "./Config.js"

export class RedisError extends Data.TaggedError("RedisError")<{ readonly cause: unknown }> {
  override get message() {
    return this.cause instanceof Error ? this.cause.message : String(this.cause)
  }
}

export interface RedisOptions {
  readonly url: Redacted.Redacted<string>
}

/**
 * A read-side client that fails fast: while Redis is away a command waits for one reconnection attempt at most
 * (`maxRetriesPerRequest: 1`), so readiness reports an outage at once. ioredis keeps reconnecting in the background.
 */
export const makeRedis = (options: RedisOptions) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new IORedis(Redacted.value(options.url), {
          connectTimeout: 5_000,
          commandTimeout: 2_000,
          maxRetriesPerRequest: 1
        })
        client.on("error", error => Runtime.runSync(runtime)(Effect.logDebug("redis connection error", error.message)))
        return client
      }),
      client => Effect.sync(() => client.disconnect())
    )
    const use = <A>(f: (client: IORedis) => Promise<A>): Effect.Effect<A, RedisError> =>
      Effect.tryPromise({ try: () => f(client), catch: cause => new RedisError({ cause }) })
    const ping = use(c => c.ping()).pipe(Effect.asVoid)
    return { client, use, ping } as const
  })

export class Redis extends Effect.Service<Redis>()("@cliq-mirror/api/Redis", {
  scoped: Effect.flatMap(RedisUrl, url => makeRedis({ url }))
}) {}
