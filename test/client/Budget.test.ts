import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { meanWindowUtilisation, windowViolations } from "@cliq-mirror/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const SCALE = 0.02
const WINDOW = 60_000 * SCALE
const THRESHOLD = 60 // chats.get, per user

const hammer = (env: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/client/upstreamHammer.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", d => {
      out += String(d)
    })
    child.stderr.on("data", d => {
      out += String(d)
    })
    child.on("exit", code => (code === 0 ? resolve(Number(out.trim().split("\n").at(-1))) : reject(new Error(out))))
  })

describe("the shared budget against the simulator", () => {
  let sim: RunningSimulator
  const prefix = uniqueRedisPrefix("budget")
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, chats: 200, users: 1, seed: 5, control: true, timeScale: SCALE })
  })
  afterAll(async () => {
    await sim?.close()
    await clearRedisPrefix(prefix)
  })

  it("three processes hammering one bucket: no violation upstream, at least 95 % of the threshold used", {
    timeout: 60_000
  }, async () => {
    const chat = sim.state.chats().find(t => t.users.some(u => u.userIndex === 0 && u.member && !u.removed))!
    const start = Date.now() + 3_000
    const until = start + 6 * WINDOW
    const env = {
      CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
      CLIQ_API_BASE_URL: sim.apiBaseUrl,
      CLIQ_TIME_SCALE: String(SCALE),
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      HAMMER_CHAT_ID: chat.chatId,
      HAMMER_UNTIL: String(until)
    }
    const counts = await Promise.all([hammer(env), hammer(env), hammer(env)])
    const arrivals = sim.state
      .requests()
      .filter(r => r.operationId === "getChat")
      .map(r => r.atMs)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(arrivals.length)
    expect(counts.every(n => n > 0)).toBe(true)
    expect(sim.state.violations()).toEqual([])
    expect(windowViolations(arrivals, WINDOW, THRESHOLD)).toBe(0)
    // steady state: from one window after the first arrival to the last
    const first = Math.min(...arrivals)
    const last = Math.max(...arrivals)
    expect(meanWindowUtilisation(arrivals, WINDOW, THRESHOLD, first + WINDOW, last)).toBeGreaterThanOrEqual(0.95)
  })
})
