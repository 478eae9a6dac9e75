import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { freePort } from "./ports.js"

/**
 * A private redis-server (binary on PATH) for drills that wipe or restart Redis: the machine's shared Redis
 * must never be flushed or restarted. No persistence, bound to 127.0.0.1 on a free port.
 */
export interface OwnRedis {
  readonly port: number
  readonly url: string
  /** FLUSHALL on this server only. */
  readonly flushAll: () => Promise<void>
  /** Kills the server (SIGKILL, as a crash) and starts an empty one on the same port. */
  readonly restart: (downMs?: number) => Promise<void>
  /** Kills the server (SIGKILL); `start` brings it back. */
  readonly kill: () => Promise<void>
  readonly start: () => Promise<void>
  /** Kills the server and removes its directory. Idempotent. */
  readonly close: () => Promise<void>
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

const ping = async (url: string): Promise<boolean> => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on("error", () => {})
  try {
    await redis.connect()
    return (await redis.ping()) === "PONG"
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise(resolve => child.once("exit", () => resolve()))

const live = new Set<ChildProcess>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL")
  })
}

export const startOwnRedis = async (): Promise<OwnRedis> => {
  installExitHook()
  const dir = await mkdtemp(join(tmpdir(), "own-redis-"))
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let closed = false

  const start = async () => {
    if (closed) throw new Error("OwnRedis is closed")
    if (child !== undefined) return
    let log = ""
    for (let attempt = 0; attempt < 50; attempt++) {
      const proc = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      proc.stdout?.on("data", chunk => {
        log = (log + String(chunk)).slice(-4000)
      })
      proc.stderr?.on("data", chunk => {
        log = (log + String(chunk)).slice(-4000)
      })
      live.add(proc)
      proc.once("exit", () => live.delete(proc))
      const deadline = Date.now() + 5000
      while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
        if (await ping(url)) {
          child = proc
          return
        }
        await sleep(25)
      }
      proc.kill("SIGKILL")
      await exited(proc)
      // The port can be briefly unavailable right after the previous server died; try again.
      await sleep(100)
    }
    throw new Error(`redis-server did not start on port ${port}: ${log}`)
  }

  const kill = async () => {
    const proc = child
    child = undefined
    if (proc === undefined) return
    proc.kill("SIGKILL")
    await exited(proc)
  }

  await start()
  return {
    port,
    url,
    flushAll: async () => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      try {
        await redis.connect()
        await redis.flushall()
      } finally {
        redis.disconnect()
      }
    },
    restart: async (downMs = 0) => {
      await kill()
      if (downMs > 0) await sleep(downMs)
      await start()
    },
    kill,
    start,
    close: async () => {
      if (closed) return
      closed = true
      await kill()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** The same as a scoped Effect: the server is killed and its directory removed when the scope closes. */
export const ownRedis = Effect.acquireRelease(
  Effect.promise(() => startOwnRedis()),
  redis => Effect.promise(() => redis.close())
)
