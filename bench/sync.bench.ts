// npx tsx bench/sync.bench.ts [ingest] [budget] [freshness] [phases] [--chats N] [--profile DIR] [--quick]
// (no scenario named: the first three; `phases` is a diagnostic of the ingest path and runs only when named)
// Sync benchmarks: the simulator in this process, the daemon as a child process, on PostgreSQL (DATABASE_URL's
// server, default local) and Redis (REDIS_URL, default local). Every database, Redis key, temporary file and process
// they create is removed when they end, also on failure or Ctrl-C.
import { cpus, loadavg } from "node:os"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { budget } from "./support/Budget.js"
import { freshness } from "./support/Freshness.js"
import { ingest } from "./support/Ingest.js"
import { writePhases } from "./support/WritePhases.js"

const SCENARIOS = ["ingest", "budget", "freshness", "phases"] as const

const argv = process.argv.slice(2)
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`)
  return at < 0 ? undefined : argv[at + 1]
}
const quick = argv.includes("--quick")
const chosen = SCENARIOS.filter(s => argv.includes(s))
const selected = (s: (typeof SCENARIOS)[number]) => (chosen.length === 0 ? s !== "phases" : chosen.includes(s))

const main = Effect.gen(function* () {
  const cpu = cpus()
  yield* Console.log(
    `\n## Sync benchmarks — ${new Date().toISOString().slice(0, 16)}Z, ${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start${quick ? " (--quick)" : ""}`
  )
  if (selected("ingest"))
    yield* ingest({ chats: Number(option("chats") ?? (quick ? 10_000 : 100_000)), profileDir: option("profile") })
  if (selected("budget"))
    yield* budget(
      quick
        ? [{ chats: 10_000, timeScale: 0.02 }]
        : [
            { chats: 30_000, timeScale: 0.02 },
            { chats: 60_000, timeScale: 0.25 }
          ]
    )
  if (selected("freshness"))
    yield* freshness(
      quick
        ? [{ pollIntervalMs: 2_500, changes: 10, spanMs: 15_000 }]
        : [
            { changes: 30, spanMs: 120_000 },
            { pollIntervalMs: 2_500, changes: 30, spanMs: 45_000 }
          ]
    )
  if (selected("phases")) yield* writePhases(Number(option("chats") ?? (quick ? 10_000 : 100_000)), quick ? 1 : 3)
})

// runMain turns SIGINT/SIGTERM into interruption, so every finalizer (databases, keys, the daemon) still runs.
NodeRuntime.runMain(main)
