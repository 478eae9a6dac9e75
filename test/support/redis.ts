import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { inject } from "vitest"

export const testRedisUrl = (): string => inject("redisUrl")

/** A key prefix owned by one test (file); pass it to every client, queue and limiter the test creates. */
export const uniqueRedisPrefix = (label = "t"): string => `test:${label}:${randomBytes(5).toString("hex")}:`

/** Deletes every key under the prefix (BullMQ keys included, since they live under their `prefix` option). */
export const clearRedisPrefix = async (prefix: string): Promise<void> => {
  const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  try {
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== "0")
  } finally {
    redis.disconnect()
  }
}

/** A fresh prefix (`uniqueRedisPrefix`) whose keys are deleted when the scope closes. */
export const scopedRedisPrefix = (label?: string) =>
  Effect.acquireRelease(
    Effect.sync(() => uniqueRedisPrefix(label)),
    prefix => Effect.promise(() => clearRedisPrefix(prefix))
  )
