import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { BUCKETS } from "@cliq-mirror/core"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parseFlags } from "../src/Flags.js"

const parse = (argv: ReadonlyArray<string>) =>
  Effect.runPromise(Effect.either(parseFlags(argv)).pipe(Effect.provide(NodeContext.layer)))
const message = async (argv: ReadonlyArray<string>) => {
  const result = await parse(argv)
  return Either.isLeft(result) ? result.left.message : "parsed"
}

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const TSX = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url))

/** Runs the CLI; once it prints its control line, `whenUp` gets the URL and the process is stopped. */
const run = (
  args: ReadonlyArray<string>,
  options: { env?: Record<string, string>; whenUp?: (url: string) => Promise<void> } = {}
) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env }
    })
    let stdout = ""
    let stderr = ""
    let up = false
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const url = /listening on (\S+)/.exec(stdout)?.[1]
      if (!up && url && /Control:.*\n/.test(stdout)) {
        up = true
        ;(options.whenUp ?? (async () => {}))(url).then(
          () => child.kill("SIGTERM"),
          error => {
            child.kill("SIGTERM")
            reject(error)
          }
        )
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("close", code => resolve({ code, stdout, stderr }))
  })

describe("flags", () => {
  it("has the documented defaults", async () => {
    const result = await parse([])
    expect(Either.isRight(result) && result.right).toMatchObject({
      port: 4010,
      users: 3,
      host: "127.0.0.1",
      control: false,
      help: false
    })
  })

  it("reads every flag in both --flag value and --flag=value forms", async () => {
    const result = await parse([
      "--port=0",
      "--chats",
      "20",
      "--seed",
      "7",
      "--tokens",
      "a,b",
      "--time-scale",
      "0.5",
      "--throttle-shape=400",
      "--response-times",
      "utc",
      "--chat-id-style",
      "ct",
      "--participant-cap",
      "10",
      "--control"
    ])
    expect(Either.isRight(result) && result.right).toMatchObject({
      port: 0,
      chats: 20,
      seed: 7,
      tokens: ["a", "b"],
      users: 2,
      timeScale: 0.5,
      throttleShape: "400",
      responseTimes: "utc",
      chatIdStyle: "ct",
      participantCap: 10,
      control: true
    })
  })

  it("names the flag and the rule for bad input", async () => {
    expect(await message(["--port", "70000"])).toBe('--port must be an integer from 0 to 65535, got "70000"')
    expect(await message(["--chats", "-1"])).toContain("--chats must be an integer")
    expect(await message(["--time-scale", "0"])).toBe('--time-scale must be a number > 0, got "0"')
    expect(await message(["--throttle-shape", "503"])).toBe('--throttle-shape must be one of 429, 400, got "503"')
    expect(await message(["--tokens", "a,,b"])).toContain("--tokens")
    expect(await message(["--tokens", "a,b", "--users", "3"])).toBe(
      "--tokens must list exactly one token per user (--users 3)"
    )
    expect(await message(["--users", "0"])).toContain("--users")
    expect(await message(["--seed"])).toBe("Expected a value following option: '--seed'")
    expect(await message(["--verbose"])).toBe("unknown or repeated flag --verbose (see --help)")
    expect(await message(["--port", "1", "--port=2"])).toBe("unknown or repeated flag --port (see --help)")
    expect(await message(["--control=maybe"])).toBe('unexpected argument "maybe" (flags start with --)')
    expect(await message(["4010"])).toContain("unexpected argument")
  })

  it("the CLI exits with 2 and one line on a bad flag", async () => {
    const { code, stderr } = await run(["--throttle-shape", "418"])
    expect(code).toBe(2)
    expect(stderr.trim()).toBe('--throttle-shape must be one of 429, 400, got "418"')
  })

  it("the CLI prints the URL, the tokens and the control prefix, and serves the API", async () => {
    let status = 0
    const { stdout } = await run(["--port", "0", "--chats", "30", "--tokens", "t1,t2", "--control"], {
      whenUp: async url => {
        status = (await fetch(`${url}/api/v3/chats`, { headers: { authorization: "Bearer t2" } })).status
      }
    })
    expect(status).toBe(200)
    expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/)
    expect(stdout).toContain("t1")
    expect(stdout).toContain("t2")
    expect(stdout).toMatch(/Control: +http:\/\/127\.0\.0\.1:\d+\/_sim/)
  })

  it("the CLI takes RATE_LIMITS_FILE overrides and scales them with --time-scale", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-limits-"))
    const file = join(dir, "limits.json")
    writeFileSync(file, JSON.stringify({ listChats: { threshold: 2, lock_seconds: 30 } }))
    let buckets: Record<string, { threshold: number; lockMs: number; windowMs: number }> = {}
    await run(["--port", "0", "--chats", "10", "--control", "--time-scale", "0.5"], {
      env: { RATE_LIMITS_FILE: file },
      whenUp: async url => {
        buckets = ((await (await fetch(`${url}/_sim`)).json()) as { buckets: typeof buckets }).buckets
      }
    })
    expect(buckets["chats.list"]).toEqual({ threshold: 2, lockMs: 15_000, windowMs: 30_000, scope: "user" })
    expect(buckets["chats.search"]!.threshold).toBe(BUCKETS["chats.search"].threshold)
  })
})
