import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { CHAT_CSV_HEADERS } from "../../apps/cli/src/Cli.js"
import { walkThrough } from "../../apps/demo/src/WalkThrough.js"
import { testDatabase } from "../support/database.js"
import { freePort } from "../support/ports.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
// `npx cliq-mirror` finds the root package's bin only from the repository's directory, where `> chats.csv` writes.
const CSV = `${ROOT}chats.csv`

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** One printed line typed into bash in the repository's directory, after the walk-through's `export` line. */
const typed = (exportLine: string, line: string) =>
  Effect.async<Run>(resume => {
    const child = spawn("bash", ["-c", `${exportLine.trim()}\n${line.trim()}`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", d => (stdout += d))
    child.stderr.on("data", d => (stderr += d))
    child.on("close", code => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill())
  })

/** `npm run demo` as a user starts it (its own process group, so nothing it spawned outlives the test). */
const startDemo = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, ["--import", "tsx", "apps/demo/src/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true
      })
      let output = ""
      child.stdout.on("data", d => (output += d))
      child.stderr.on("data", d => (output += d))
      return { child, output: () => output }
    }),
    ({ child }) =>
      Effect.promise(async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise(resolve => child.once("exit", resolve))
        child.kill("SIGTERM")
        const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 20_000)
        await exited
        clearTimeout(killer)
      })
  )

it.scopedLive(
  "the demo's walk-through works typed exactly as printed: unread chats, dry run, bulk run to the end, commands, export",
  () =>
    Effect.gen(function* () {
      assert.isFalse(existsSync(CSV), `${CSV} exists; the walk-through's export would overwrite it`)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(CSV, { force: true })))
      const database = yield* testDatabase
      const prefix = yield* scopedRedisPrefix("walk")
      const port = yield* Effect.promise(freePort)
      const token = `walk-${randomBytes(6).toString("hex")}`
      const api = `http://127.0.0.1:${port}`
      const demo = yield* startDemo({
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: prefix,
        API_PORT: String(port),
        API_TOKEN: token,
        LOG_LEVEL: "warn"
      })
      const started = Date.now()
      const lines = walkThrough(api, token)
      // The demo prints the walk-through once the mirror holds unread chats.
      const deadline = Date.now() + 90_000
      while (!demo.output().includes(lines.at(-1)!)) {
        assert.isNull(demo.child.exitCode, demo.output())
        assert.isBelow(Date.now(), deadline, `no walk-through printed:\n${demo.output()}`)
        yield* Effect.sleep("200 millis")
      }
      for (const line of lines) assert.include(demo.output(), `${line}\n`)
      process.stderr.write(`walk-through: printed after ${((Date.now() - started) / 1000).toFixed(1)} s\n`)

      const [exportLine, ...steps] = lines
      assert.match(exportLine!, /^\s+export CLIQ_MIRROR_URL=\S+ CLIQ_MIRROR_TOKEN=\S+$/)
      const find = (text: string) => steps.find(l => l.includes(text))!
      // How long each step took, shown when one fails (the CLI's start under tsx dominates on a loaded machine).
      const timings: Array<string> = [`walk-through printed after ${((Date.now() - started) / 1000).toFixed(1)} s`]
      const run = Effect.fnUntraced(function* (text: string) {
        const t0 = Date.now()
        const result = yield* typed(exportLine!, find(text))
        timings.push(`${find(text).trim()}: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
        process.stderr.write(`walk-through: ${timings.at(-1)}\n`)
        assert.strictEqual(result.code, 0, `${find(text)}\n${result.stdout}\n${result.stderr}\n${timings.join("\n")}`)
        return result
      })
      assert.lengthOf(steps, 7)

      const status = yield* run("cliq-mirror status")
      assert.match(status.stdout, /^accounts\naccount\s+credentials\s+chats\s+streams\ndefault\s+ok\s+\d+/)

      const unread = yield* run("chats list --unread true")
      const rows = unread.stdout.trimEnd().split("\n")
      assert.match(rows[0]!, /^chat_id\s+name\s+type\s+unread\s+last_modified\s+account$/)
      assert.lengthOf(rows, 11)
      assert.isTrue(
        rows.slice(1).every(r => /^\d+\s.*\s[1-9]\d*\s+\S+Z\s+default$/.test(r)),
        unread.stdout
      )

      const dry = yield* run("--dry-run")
      const preview = /^mark_as_read: (\d+) chats match; (\d+) upstream calls; eta \S+Z\n/.exec(dry.stdout)
      assert.isNotNull(preview, dry.stdout)
      assert.isAbove(Number(preview![1]), 0)
      assert.strictEqual(Number(preview![2]), Math.ceil(Number(preview![1]) / 100))

      const bulk = yield* run("--yes")
      const taken = /batch ([0-9a-f-]{36}): (\d+) commands taken in\n/.exec(bulk.stdout)
      assert.isNotNull(taken, bulk.stdout)
      const [, batchId, count] = taken!
      assert.include(bulk.stdout, `batch ${batchId} finished: 100% of ${count} succeeded=${count}\n`)
      const progress = bulk.stderr.trimEnd().split("\n")
      assert.isTrue(
        progress.every(l => l.startsWith("progress ")),
        bulk.stderr
      )
      assert.match(progress[0]!, new RegExp(`^progress \\d+% of ${count} `))
      assert.strictEqual(progress.at(-1), `progress 100% of ${count} succeeded=${count}`)

      const commands = yield* run("commands list")
      const listed = commands.stdout.trimEnd().split("\n")
      assert.match(
        listed[0]!,
        /^command_id\s+type\s+status\s+chat_id\s+attempts\s+created_at\s+eta\s+batch_id\s+error$/
      )
      assert.lengthOf(listed, 6)
      assert.isTrue(
        listed.slice(1).every(r => r.includes(" mark_as_read ") && r.includes(" succeeded ") && r.includes(batchId!)),
        commands.stdout
      )

      yield* run("chats export")
      const csv = readFileSync(CSV, "utf8").trimEnd().split("\n")
      assert.strictEqual(csv[0], CHAT_CSV_HEADERS.join(","))
      assert.isAbove(csv.length, Number(count))

      const curl = yield* run("curl ")
      const page = Schema.decodeUnknownSync(
        Schema.parseJson(Schema.Struct({ data: Schema.Array(Schema.Struct({ unread_message_count: Schema.Number })) }))
      )(curl.stdout)
      assert.isAtMost(page.data.length, 5)
      assert.isTrue(page.data.every(c => c.unread_message_count > 0))
    }),
  420_000
)
