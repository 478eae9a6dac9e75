// npx tsx bench/simulator.bench.ts [--chats N] [--quick]
// The simulator's own costs, so that the sync benchmarks measure the daemon and not the stand-in: seeding a world of
// N chats (CPU time of this process), and serving the backfill's search walk of user 1 (`servePages`: pages of 500,
// newest first; CPU time of this process, which is both the simulator and the client, and wall time).
import { cpus, loadavg } from "node:os"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { servePages } from "./support/Baselines.js"
import { fixed, grouped, median, table } from "./support/Stats.js"
import { raisedBuckets, simulator, visibleChats } from "./support/Upstream.js"

const argv = process.argv.slice(2)
const at = argv.indexOf("--chats")
const quick = argv.includes("--quick")
const CHATS = at >= 0 ? Number(argv[at + 1]) : quick ? 20_000 : 100_000
const ROUNDS = quick ? 1 : 3

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

interface Round {
  readonly seedCpuMs: number
  readonly served: number
  readonly pages: number
  readonly walkCpuMs: number
  readonly walkWallMs: number
}

const round: Effect.Effect<Round> = Effect.gen(function* () {
  const seedStart = process.cpuUsage()
  // Only the search bucket is lifted: the walk is far faster than 50 searches a minute.
  const sim = yield* simulator({ chats: CHATS, seed: 42, buckets: raisedBuckets(1_000_000, ["chats.search"]) })
  const seedCpuMs = cpuMs(seedStart)
  const walkStart = process.cpuUsage()
  const walk = yield* servePages(sim.apiBaseUrl)
  const walkCpuMs = cpuMs(walkStart)
  const expected = visibleChats(sim)
  if (walk.chats !== expected) return yield* Effect.die(new Error(`the walk saw ${walk.chats} chats of ${expected}`))
  return { seedCpuMs, served: walk.chats, pages: walk.calls, walkCpuMs, walkWallMs: walk.ms }
}).pipe(Effect.scoped)

const main = Effect.gen(function* () {
  const cpu = cpus()
  yield* Console.log(
    `\n## Simulator — ${new Date().toISOString().slice(0, 16)}Z, ${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start; ${grouped(CHATS)} chats, median of ${ROUNDS}\n`
  )
  const rounds: Array<Round> = []
  for (let i = 0; i < ROUNDS; i++) rounds.push(yield* round)
  const med = (f: (r: Round) => number) => median(rounds.map(f).sort((a, b) => a - b))
  yield* Console.log(
    table(["measurement", "chats", "CPU s", "wall s", "chats per CPU s"], "lrrrr", [
      [
        "seed the world (startSimulator)",
        grouped(CHATS),
        fixed(med(r => r.seedCpuMs) / 1000, 2),
        "—",
        grouped(CHATS / (med(r => r.seedCpuMs) / 1000))
      ],
      [
        `serve user 1's search walk, pages of 500 (${med(r => r.pages)} pages), client in the same process`,
        grouped(med(r => r.served)),
        fixed(med(r => r.walkCpuMs) / 1000, 2),
        fixed(med(r => r.walkWallMs) / 1000, 2),
        grouped(med(r => r.served) / (med(r => r.walkCpuMs) / 1000))
      ]
    ])
  )
})

NodeRuntime.runMain(main)
