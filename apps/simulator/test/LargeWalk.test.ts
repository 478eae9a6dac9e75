import { BUCKETS } from "@cliq-mirror/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type RunningSimulator, startSimulator } from "../src/index.js"
import { chatsOf, client } from "./helpers.js"

const CHATS = 100_000
let sim: RunningSimulator

beforeAll(async () => {
  // The benchmark crawls far faster than 50 searches a minute; lift only that bucket's threshold.
  const buckets = { ...BUCKETS, "chats.search": { ...BUCKETS["chats.search"], threshold: 1_000_000 } }
  sim = await startSimulator({ chats: CHATS, seed: 42, buckets })
})
afterAll(() => sim.close())

describe("100,000 chats", () => {
  // Its speed is measured by `npm run bench -- simulator`.
  it("serves every chat through 500-item search pages walked backwards", async () => {
    const api = client(sim)
    const expected = new Set(
      sim.state
        .chats()
        .filter(c => c.users.some(u => u.userIndex === 0 && !u.removed))
        .map(c => c.chatId)
    )
    const seen = new Set<string>()
    let served = 0
    let before: number | undefined
    for (;;) {
      const res = await api.get(
        "/chats/search",
        before === undefined ? { limit: 500 } : { limit: 500, modified_before: before }
      )
      expect(res.status).toBe(200)
      const page = chatsOf(res)
      served += page.length
      for (const chat of page) seen.add(chat.chat_id as string)
      if (page.length < 500) break
      // Body times are whole seconds: re-cover the oldest second (docs/upstream.md#list-walk).
      const oldest = Math.min(...page.map(c => Date.parse(c.last_modified_time as string)))
      const next = oldest + 1000
      expect(before === undefined || next < before).toBe(true)
      before = next
    }
    expect(seen).toEqual(expected)
    expect(served).toBeGreaterThanOrEqual(expected.size)
  })
})
