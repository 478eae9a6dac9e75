// npx tsx bench/simulator.bench.ts [--chats N] [--quick]
// The simulator's own costs, so that the sync benchmarks measure the daemon and not the stand-in: seeding a world of
// N chats (CPU time of this process), and serving every chat of user 1 through 500-item search pages walked backwards
// with `modified_before` (CPU time of this process, which is both the simulator and the client; wall time too).
import { cpus, loadavg } from "node:os"
import { BUCKETS } from "@cliq-mirror/core"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { startSimulator } from "../apps/simulator/src/index.js"
import { fixed, grouped, median, table } from "./support/Stats.js"

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

const round = Effect.promise(async (): Promise<Round> => {
  // Only the search bucket is lifted: the walk is far faster than 50 searches a minute.
  const buckets = { ...BUCKETS, "chats.search": { ...BUCKETS["chats.search"], threshold: 1_000_000 } }
  const seedStart = process.cpuUsage()
  const sim = await startSimulator({ port: 0, chats: CHATS, seed: 42, buckets })
  const seedCpuMs = cpuMs(seedStart)
  try {
    const token = sim.state.options.tokens[0]!
    const seen = new Set<string>()
    let pages = 0
    let before: number | undefined
    const walkStart = process.cpuUsage()
    const t0 = performance.now()
    for (;;) {
      const query = new URLSearchParams({
        limit: "500",
        ...(before === undefined ? {} : { modified_before: String(before) })
      })
      const res = await fetch(`${sim.apiBaseUrl}/chats/search?${query}`, {
        headers: { authorization: `Zoho-oauthtoken ${token}` }
      })
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${await res.text()}`)
      const page = ((await res.json()) as { chats: Array<{ chat_id: string; last_modified_time: string }> }).chats
      pages++
      for (const chat of page) seen.add(chat.chat_id)
      if (page.length < 500) break
      // Body times are whole seconds: re-cover the oldest second (CLIQ_API.md §6.3).
      before = Math.min(...page.map(c => Date.parse(c.last_modified_time))) + 1000
    }
    const walkWallMs = performance.now() - t0
    const walkCpuMs = cpuMs(walkStart)
    const expected = sim.state.chats().filter(c => c.users.some(u => u.userIndex === 0 && !u.removed)).length
    if (seen.size !== expected) throw new Error(`the walk saw ${seen.size} chats of ${expected}`)
    return { seedCpuMs, served: seen.size, pages, walkCpuMs, walkWallMs }
  } finally {
    await sim.close()
  }
})

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
        `serve user 1's chats, search pages of 500 (${med(r => r.pages)} pages), client in the same process`,
        grouped(med(r => r.served)),
        fixed(med(r => r.walkCpuMs) / 1000, 2),
        fixed(med(r => r.walkWallMs) / 1000, 2),
        grouped(med(r => r.served) / (med(r => r.walkCpuMs) / 1000))
      ]
    ])
  )
})

NodeRuntime.runMain(main)
