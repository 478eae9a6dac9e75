import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { Data, Deferred, Duration, Effect } from "effect"
import { cleanup, REPO_ROOT } from "./Scratch.js"
import { tempDir } from "./Upstream.js"

export class ChildFailed extends Data.TaggedError("ChildFailed")<{ readonly message: string }> {}

/** Settings the bench owns; anything the caller's shell exports for a real deployment must not leak in. */
const OWNED =
  /^(CLIQ_|REDIS_|DATABASE_URL$|RATE_LIMITS_FILE$|POLL_INTERVAL_MS$|STATE_POLL_|RECONCILE_|MEMBERS_POLL_|SYNC_|LOG_LEVEL$|API_|COMMAND_|TSX_)/

export interface ProcStats {
  /** Peak resident set (VmHWM), KiB. */
  readonly peakRssKib: number
  readonly rssKib: number
  /** User + system CPU time so far, ms. */
  readonly cpuMs: number
}

const ticksMs = 1000 / 100

/** Reads /proc/<pid>: memory from `status`, CPU time from `stat` (utime + stime, in USER_HZ = 100 ticks). */
export const procStats = (pid: number): ProcStats | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN)
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return {
      peakRssKib: kib("VmHWM"),
      rssKib: kib("VmRSS"),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * ticksMs
    }
  } catch {
    return undefined
  }
}

export interface Child {
  readonly pid: number
  /** The first log line containing the `ready` text, with the time it was read. */
  readonly ready: Effect.Effect<{ readonly line: string; readonly at: number }, ChildFailed>
  readonly stats: () => ProcStats | undefined
  /** Log lines seen so far that contain `text` (one of `watched`). */
  readonly count: (text: string) => number
  /** The first few of those lines (up to 5 per watched text). */
  readonly samples: (text: string) => ReadonlyArray<string>
  readonly tail: () => string
  readonly running: () => boolean
  /**
   * SIGTERM and wait for the exit (so a --cpu-prof profile gets written); SIGKILL after 10 s (2 min when profiling,
   * as writing a long run's profile takes a while).
   */
  readonly stop: Effect.Effect<void>
}

const terminate = async (child: ChildProcess, graceMs: number) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once("exit", () => resolve()))
  child.kill("SIGTERM")
  const killer = setTimeout(() => child.kill("SIGKILL"), graceMs)
  await exited
  clearTimeout(killer)
}

interface SpawnOptions {
  readonly ready: string
  readonly watched?: ReadonlyArray<string>
  readonly cpuProfDir?: string | undefined
  /** Run the compiled output (`npm run build`: `dist/…js` by plain node, as the image does) instead of tsx. */
  readonly compiled?: boolean | undefined
  /** Node's own arguments before the script (V8 flags that NODE_OPTIONS does not take, e.g. `--heap-growing-percent`). */
  readonly nodeArgs?: ReadonlyArray<string> | undefined
}

/** `apps/daemon/src/main.ts` → `apps/daemon/dist/main.js`, which `npm run build` writes. */
const compiledPath = (script: string) => {
  const path = join(REPO_ROOT, script.replace("/src/", "/dist/").replace(/\.ts$/, ".js"))
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`)
  return path
}

/**
 * One of the project's entry points as one node process (`node --import tsx <script>`, or plain node on the
 * compiled output with `compiled`; no npm or tsx wrapper in between), so its pid is its own and /proc shows its own
 * memory. It runs in an empty directory, so a developer's
 * `.env` cannot change the settings the bench leaves at their defaults. Stopped with the scope.
 */
const spawnScript = (
  name: string,
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options: SpawnOptions
) =>
  Effect.gen(function* () {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWNED.test(k)))
    const cwd = yield* tempDir(name)
    const graceMs = options.cpuProfDir ? 120_000 : 10_000
    const argv = [
      ...(options.nodeArgs ?? []),
      ...(options.compiled ? [] : ["--import", import.meta.resolve("tsx")]),
      ...(options.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", resolve(options.cpuProfDir)] : []),
      options.compiled ? compiledPath(script) : join(REPO_ROOT, script),
      ...args
    ]
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, argv, {
          cwd,
          env: { ...base, TSX_TSCONFIG_PATH: join(REPO_ROOT, "tsconfig.json"), ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      child => cleanup(`${name} pid ${child.pid}`, () => terminate(child, graceMs))
    )
    const ready = yield* Deferred.make<{ readonly line: string; readonly at: number }, ChildFailed>()
    const lines: Array<string> = []
    const counts = new Map<string, number>()
    const firsts = new Map<string, Array<string>>()
    const onLine = (line: string) => {
      lines.push(line)
      if (lines.length > 200) lines.shift()
      for (const w of options.watched ?? []) {
        if (!line.includes(w)) continue
        counts.set(w, (counts.get(w) ?? 0) + 1)
        const kept = firsts.get(w) ?? []
        if (kept.length < 5) firsts.set(w, [...kept, line])
      }
      if (line.includes(options.ready)) Deferred.unsafeDone(ready, Effect.succeed({ line, at: Date.now() }))
    }
    createInterface({ input: child.stdout! }).on("line", onLine)
    createInterface({ input: child.stderr! }).on("line", onLine)
    const tail = () => lines.slice(-40).join("\n")
    child.once("exit", (code, signal) =>
      Deferred.unsafeDone(
        ready,
        Effect.fail(new ChildFailed({ message: `${name} exited (${code ?? signal}) before it was ready:\n${tail()}` }))
      )
    )
    return {
      pid: child.pid!,
      ready: Deferred.await(ready).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(60),
          onTimeout: () => new ChildFailed({ message: `${name} not ready within 60 s:\n${tail()}` })
        })
      ),
      stats: () => procStats(child.pid!),
      count: (text: string) => counts.get(text) ?? 0,
      samples: (text: string) => firsts.get(text) ?? [],
      tail,
      running: () => child.exitCode === null && child.signalCode === null,
      stop: Effect.promise(() => terminate(child, graceMs))
    } satisfies Child
  })

export interface Daemon extends Child {
  /** Wall-clock ms (Date.now) of the "database migrated" log line, from its own timestamp. */
  readonly migrated: Effect.Effect<number, ChildFailed>
}

/** The variables `npm run daemon` sets in front of its command (package.json), e.g. the C library's malloc settings. */
const daemonScriptEnv = (): Record<string, string> => {
  const scripts = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>
  const prefix = /^((?:[A-Z_][A-Z0-9_]*=\S+\s+)*)/.exec(scripts.daemon ?? "")?.[1] ?? ""
  return Object.fromEntries(
    prefix
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(a => a.split("=", 2) as [string, string])
  )
}

/** The daemon as `npm run daemon` runs it; SIGTERM is its graceful path, which also writes a --cpu-prof profile. */
export const spawnDaemon = (
  env: Record<string, string>,
  options: Pick<SpawnOptions, "cpuProfDir" | "compiled" | "nodeArgs"> = {}
) =>
  Effect.map(
    spawnScript(
      "daemon",
      "apps/daemon/src/main.ts",
      [],
      { ...daemonScriptEnv(), ...env },
      {
        ready: 'message="database migrated"',
        watched: ["sync pass failed", "upstream throttled", "level=ERROR"],
        ...options
      }
    ),
    (child): Daemon => ({
      ...child,
      migrated: Effect.map(child.ready, ({ line, at }) => {
        const logged = Date.parse(/timestamp=(\S+)/.exec(line)?.[1] ?? "")
        return Number.isNaN(logged) ? at : logged
      })
    })
  )

/** The simulator as `npm run simulator` runs it, on a free port; yields its API base URL once it listens. */
export const spawnSimulator = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.gen(function* () {
    const child = yield* spawnScript("simulator", "apps/simulator/src/main.ts", ["--port", "0", ...args], env, {
      ready: "API base:"
    })
    const { line } = yield* child.ready
    return { ...child, apiBaseUrl: line.replace(/^.*API base:\s*/, "").trim() }
  })
