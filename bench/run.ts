// npm run bench [-- <bench>… [options passed to each]]   e.g.  npm run bench -- sync ingest --quick
// Runs bench/<name>.bench.ts one after the other, each as its own node process with tsx, output as it comes.
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect } from "effect"

class BenchFailed extends Data.TaggedError("BenchFailed")<{ readonly message: string }> {}

const dir = fileURLToPath(new URL(".", import.meta.url))
const all = readdirSync(dir)
  .filter(f => f.endsWith(".bench.ts"))
  .map(f => f.slice(0, -".bench.ts".length))
  .sort()

const argv = process.argv.slice(2)
const named = argv.filter(a => all.includes(a))
const passed = argv.filter(a => !all.includes(a))
const unknown = named.length === 0 && argv.length > 0 && !argv[0]!.startsWith("-") ? argv[0] : undefined

const exited = (child: ChildProcess) =>
  new Promise<number>(resolve => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })

const runBench = (name: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["--import", "tsx", `${dir}${name}.bench.ts`, ...passed], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdio: "inherit"
      })
    ),
    child => Effect.promise(() => exited(child)),
    child =>
      Effect.promise(async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        // The bench cleans up on SIGTERM (its finalizers run); wait for that rather than leave things behind.
        child.kill("SIGTERM")
        await exited(child)
      })
  )

const main = Effect.gen(function* () {
  if (unknown !== undefined)
    return yield* new BenchFailed({ message: `no bench "${unknown}"; choose from ${all.join(", ")}` })
  const failed: Array<string> = []
  for (const name of named.length > 0 ? named : all) {
    yield* Console.log(`\n# bench/${name}.bench.ts ${passed.join(" ")}`.trimEnd())
    const code = yield* runBench(name)
    if (code !== 0) failed.push(`${name} (exit ${code})`)
  }
  if (failed.length > 0) return yield* new BenchFailed({ message: `failed: ${failed.join(", ")}` })
})

NodeRuntime.runMain(main.pipe(Effect.tapError(e => Console.error(e.message))), { disableErrorReporting: true })
