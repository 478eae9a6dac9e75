import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { startOwnRedis } from "../support/OwnRedis.js"

describe("OwnRedis", () => {
  it("serves a private server that can be flushed, restarted empty and closed", async () => {
    const own = await startOwnRedis()
    const client = new Redis(own.url, { maxRetriesPerRequest: 20 })
    client.on("error", () => {})
    try {
      await client.set("k", "1")
      await own.flushAll()
      expect(await client.get("k")).toBeNull()
      await client.set("k", "2")
      await own.restart(50)
      expect(await client.get("k")).toBeNull()
      expect(await client.dbsize()).toBe(0)
    } finally {
      client.disconnect()
      await own.close()
    }
    const probe = new Redis(own.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on("error", () => {})
    await expect(probe.connect()).rejects.toThrow()
    probe.disconnect()
  })
})
