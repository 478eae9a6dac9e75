import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { ownRedis } from "../support/OwnRedis.js"

/** A client of the private server, disconnected when the scope closes; errors while it is down are expected. */
const clientOf = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis(url, { maxRetriesPerRequest: 20 })
      client.on("error", () => {})
      return client
    }),
    client => Effect.sync(() => client.disconnect())
  )

/** Whether anything answers on the URL, without retrying. */
const reachable = (url: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on("error", () => {})
      return probe
    }),
    probe =>
      Effect.tryPromise(() => probe.connect()).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      ),
    probe => Effect.sync(() => probe.disconnect())
  )

describe("OwnRedis", () => {
  it.live("serves a private server that can be flushed, restarted empty and closed", () =>
    Effect.gen(function* () {
      const own = yield* Effect.scoped(
        Effect.gen(function* () {
          const own = yield* ownRedis
          const client = yield* clientOf(own.url)
          yield* Effect.promise(() => client.set("k", "1"))
          yield* Effect.promise(() => own.flushAll())
          expect(yield* Effect.promise(() => client.get("k"))).toBeNull()
          yield* Effect.promise(() => client.set("k", "2"))
          yield* Effect.promise(() => own.restart(50))
          expect(yield* Effect.promise(() => client.get("k"))).toBeNull()
          expect(yield* Effect.promise(() => client.dbsize())).toBe(0)
          return own
        })
      )
      // The scope closed the server.
      expect(yield* reachable(own.url)).toBe(false)
    })
  )
})
