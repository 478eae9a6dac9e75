import { BUCKET_IDS, BUCKETS, type BucketId, OPERATIONS } from "@cliq-mirror/core"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type RunningSimulator, startSimulator } from "../src/index.js"
import { type ApiResponse, client, memberChat } from "./helpers.js"

const TOO_MANY = { message: "Too many requests within a certain time frame." }

/** One request per bucket; validity does not matter, every authenticated call counts. */
const probes = (sim: RunningSimulator): Record<BucketId, (userIndex: number) => Promise<ApiResponse>> => {
  const group = memberChat(sim, 0, c => c.chatType === "group_chat" && c.users.some(u => u.userIndex === 1 && u.member))
  const member = group.participantIds[1]!
  return {
    "chats.list": u => client(sim, u).get("/chats", { limit: 1 }),
    "chats.create": u => client(sim, u).post("/chats", { chat_type: "direct_message", user_id: member }),
    "chats.bulk_update": u => client(sim, u).put("/chats", { operation: "clear_unread", chat_ids: [group.chatId] }),
    "chats.search": u => client(sim, u).get("/chats/search", { limit: 1 }),
    "chats.get": u => client(sim, u).get(`/chats/${group.chatId}`),
    "chats.update": u => client(sim, u).put(`/chats/${group.chatId}`, { operation: "mark_as_read" }),
    "members.list": u => client(sim, u).get(`/chats/${group.chatId}/members`),
    "members.add": u => client(sim, u).post(`/chats/${group.chatId}/members`, { user_ids: [member] }),
    "members.remove": u => client(sim, u).del(`/chats/${group.chatId}/members`, { user_ids: "1" }),
    "chats.fork": u => client(sim, u).post(`/chats/${group.chatId}/forks`, {}),
    "chats.activities": u => client(sim, u).post(`/chats/${group.chatId}/activities`, { action: "typing" }),
    "chats.leave": u => client(sim, u).post("/chats/1/leave"),
    "chats.mute": u => client(sim, u).post(`/chats/${group.chatId}/mute`),
    "chats.unmute": u => client(sim, u).post(`/chats/${group.chatId}/unmute`)
  }
}

const burst = async (n: number, call: () => Promise<ApiResponse>) => {
  const out: Array<ApiResponse> = []
  for (let i = 0; i < n; i++) out.push(await call())
  return out
}

describe("each bucket, on the virtual clock", () => {
  let sim: RunningSimulator
  let probe: ReturnType<typeof probes>

  beforeAll(async () => {
    sim = await startSimulator({ chats: 150, seed: 9, control: true })
    probe = probes(sim)
  })
  afterAll(() => sim.close())
  beforeEach(() => {
    sim.state.resetThrottle()
    sim.state.resetLogs()
  })

  it("covers every operation of the table", () => {
    expect(new Set(OPERATIONS.map(o => o.bucket))).toEqual(new Set(BUCKET_IDS))
  })

  for (const bucket of BUCKET_IDS) {
    const { threshold, windowMs, lockMs, scope } = BUCKETS[bucket]
    it(`${bucket}: ${threshold} calls pass, the next opens a ${lockMs / 1000}s lock, keyed per ${scope}`, async () => {
      const passed = await burst(threshold, () => probe[bucket](0))
      expect(passed.filter(r => r.status === 429)).toEqual([])
      const refused = await probe[bucket](0)
      expect(refused.status).toBe(429)
      expect(refused.body).toEqual(TOO_MANY)
      expect(refused.headers.get("retry-after")).toBeNull()
      const [violation] = sim.state.violations()
      expect(violation).toMatchObject({ bucket, kind: "threshold", userIndex: 0 })

      const otherBucket = bucket === "chats.list" ? "chats.search" : "chats.list"
      expect((await probe[otherBucket](0)).status).not.toBe(429)
      const otherUser = await probe[bucket](1)
      expect(otherUser.status === 429).toBe(scope === "client")

      const lockedUntil = sim.state.violations()[0]!.lockedUntilMs
      expect(lockedUntil - violation!.atMs).toBe(lockMs)
      sim.state.advanceClock(lockedUntil - sim.state.now() - 1000)
      const stillLocked = await probe[bucket](0)
      expect(stillLocked.status).toBe(429)
      expect(sim.state.violations().at(-1)).toMatchObject({ bucket, kind: "locked", lockedUntilMs: lockedUntil })

      // Past the lock and past the window the calls that filled it sit in.
      sim.state.advanceClock(lockedUntil - sim.state.now() + windowMs)
      expect((await probe[bucket](0)).status).not.toBe(429)
    })
  }

  it("a lock shorter than the window lifts into a still-full window (strict sliding window)", async () => {
    const { threshold, lockMs } = BUCKETS["chats.fork"]
    await burst(threshold, () => probe["chats.fork"](0))
    expect((await probe["chats.fork"](0)).status).toBe(429)
    sim.state.advanceClock(lockMs + 1)
    expect((await probe["chats.fork"](1)).status).toBe(429)
    expect(sim.state.violations().map(v => v.kind)).toEqual(["threshold", "threshold"])
  })

  it("refused calls do not count and do not extend the lock", async () => {
    const { threshold, windowMs, lockMs } = BUCKETS["chats.get"]
    await burst(threshold, () => probe["chats.get"](0))
    await burst(5, () => probe["chats.get"](0))
    const opened = sim.state.violations()[0]!
    expect(sim.state.violations().every(v => v.lockedUntilMs === opened.lockedUntilMs)).toBe(true)
    sim.state.advanceClock(Math.max(lockMs, windowMs) + 1)
    const again = await burst(threshold, () => probe["chats.get"](0))
    expect(again.filter(r => r.status === 429)).toEqual([])
  })

  it("does not count calls without a valid token", async () => {
    const { threshold } = BUCKETS["chats.list"]
    for (let i = 0; i < threshold + 5; i++) {
      const res = await fetch(`${sim.apiBaseUrl}/chats?limit=1`, { headers: { authorization: "Bearer nope" } })
      expect(res.status).toBe(401)
    }
    const passed = await burst(threshold, () => probe["chats.list"](0))
    expect(passed.filter(r => r.status === 429)).toEqual([])
    expect(sim.state.violations()).toEqual([])
  })

  it("counts client-scoped buckets per OAuth client: a token of another client has its own window", async () => {
    const { threshold } = BUCKETS["chats.update"]
    await burst(threshold, () => probe["chats.update"](0))
    expect((await probe["chats.update"](1)).status).toBe(429)
    const other = sim.state.issueToken({ userIndex: 1, clientId: "another-client" })
    const chat = memberChat(sim, 1, c => c.chatType === "group_chat")
    const res = await fetch(`${sim.apiBaseUrl}/chats/${chat.chatId}`, {
      method: "PUT",
      headers: { authorization: `Zoho-oauthtoken ${other.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ operation: "mark_as_read" })
    })
    expect(res.status).not.toBe(429)
    expect(sim.state.violations().map(v => [v.key, v.userIndex])).toEqual([["client:sim-client-id:chats.update", 1]])
  })

  it("logs every call with its operation, bucket, user and status", async () => {
    await probe["chats.update"](2)
    const [entry] = sim.state.requests()
    expect(entry).toMatchObject({
      method: "PUT",
      operationId: "markAsRead",
      bucket: "chats.update",
      userIndex: 2,
      userId: sim.state.userId(2),
      status: 400,
      outcome: "ok"
    })
    sim.state.resetLogs()
    expect(sim.state.requests()).toEqual([])
  })
})

describe("the 400 throttle shape", () => {
  it("answers request_limit_exceeded with HTTP 400", async () => {
    const sim = await startSimulator({ chats: 40, seed: 2, throttleShape: "400" })
    try {
      const { threshold } = BUCKETS["chats.search"]
      const api = client(sim)
      await burst(threshold, () => api.get("/chats/search", { limit: 1 }))
      const refused = await api.get("/chats/search", { limit: 1 })
      expect(refused.status).toBe(400)
      expect(refused.body).toEqual({
        code: "request_limit_exceeded",
        message: "You have exceeded the URL throttle limits."
      })
    } finally {
      await sim.close()
    }
  })
})

describe("real time with a time scale", () => {
  it("shrinks windows and locks: 0.01 gives a 600 ms window and a 3 s lock on chats.get", async () => {
    const sim = await startSimulator({ chats: 40, seed: 4, timeScale: 0.01 })
    try {
      const limit = sim.state.options.scaledBuckets["chats.get"]
      expect(limit.windowMs).toBe(BUCKETS["chats.get"].windowMs * 0.01)
      const chat = memberChat(sim, 0)
      const api = client(sim)
      const started = Date.now()
      const passed = await Promise.all(Array.from({ length: limit.threshold }, () => api.get(`/chats/${chat.chatId}`)))
      expect(Date.now() - started).toBeLessThan(limit.windowMs)
      expect(passed.every(r => r.status === 200)).toBe(true)
      expect((await api.get(`/chats/${chat.chatId}`)).status).toBe(429)
      const lockedAt = sim.state.violations()[0]!.atMs
      await new Promise(r => setTimeout(r, limit.lockMs / 2))
      expect((await api.get(`/chats/${chat.chatId}`)).status).toBe(429)
      await new Promise(r => setTimeout(r, lockedAt + limit.lockMs + 20 - Date.now()))
      expect((await api.get(`/chats/${chat.chatId}`)).status).toBe(200)
    } finally {
      await sim.close()
    }
  })

  it("lets a window slide: calls older than the scaled window stop counting", async () => {
    const sim = await startSimulator({ chats: 40, seed: 4, timeScale: 0.01 })
    try {
      const limit = sim.state.options.scaledBuckets["chats.fork"]
      const api = client(sim)
      await Promise.all(Array.from({ length: limit.threshold - 1 }, () => api.post("/chats/1/forks", {})))
      await new Promise(r => setTimeout(r, limit.windowMs + 20))
      const fresh = await Promise.all(Array.from({ length: limit.threshold }, () => api.post("/chats/1/forks", {})))
      expect(fresh.every(r => r.status === 400)).toBe(true)
    } finally {
      await sim.close()
    }
  })
})
