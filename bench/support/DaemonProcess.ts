import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { Data, Deferred, Duration, Effect } from "effect"
import { cleanup, REPO_ROOT } from "./Scratch.js"

export class DaemonFailed extends Data.TaggedError("DaemonFailed")<{ readonly message: string }> {}

/** Settings the bench owns; anything the caller's shell exports for a real deployment must not leak in. */
const OWNED =
  /^(CLIQ_|REDIS_|DATABASE_URL$|RATE_LIMITS_FILE$|POLL_INTERVAL_MS$|STATE_POLL_|RECONCILE_|MEMBERS_POLL_|SYNC_OVERLAP_|LOG_LEVEL$|API_)/

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

export interface Daemon {
  readonly pid: number
  /** Wall-clock ms (Date.now) of the "database migrated" log line, from its own timestamp. */
  readonly migrated: Effect.Effect<number, DaemonFailed>
  readonly stats: () => ProcStats | undefined
  /** Log lines seen so far that contain `text`. */
  readonly count: (text: string) => number
  readonly tail: () => string
  readonly running: () => boolean
  /** SIGTERM and wait for the exit (so a --cpu-prof profile gets written); SIGKILL after 10 s. */
  readonly stop: Effect.Effect<void>
}

const terminate = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once("exit", () => resolve()))
  child.kill("SIGTERM")
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000)
  await exited
  clearTimeout(killer)
}

/**
 * The daemon exactly as `npm run daemon` runs it, but as one node process (`node --import tsx`, no npm or tsx
 * wrapper in between), so its pid is the daemon's and /proc shows its own memory. Stopped with SIGTERM (the daemon's
 * graceful path, which also writes a --cpu-prof profile), SIGKILL after 10 s.
 */
export const spawnDaemon = (env: Record<string, string>, options: { readonly cpuProfDir?: string } = {}) =>
  Effect.gen(function* () {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWNED.test(k)))
    const args = [
      "--import",
      "tsx",
      ...(options.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir] : []),
      "apps/daemon/src/main.ts"
    ]
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      ),
      child => cleanup(`daemon pid ${child.pid}`, () => terminate(child))
    )
    const migrated = yield* Deferred.make<number, DaemonFailed>()
    const lines: Array<string> = []
    const counts = new Map<string, number>()
    const watched = ["database migrated", "sync pass failed", "upstream throttled", "level=ERROR"]
    const onLine = (line: string) => {
      lines.push(line)
      if (lines.length > 200) lines.shift()
      for (const w of watched) if (line.includes(w)) counts.set(w, (counts.get(w) ?? 0) + 1)
      if (line.includes('message="database migrated"')) {
        const at = Date.parse(/timestamp=(\S+)/.exec(line)?.[1] ?? "")
        Deferred.unsafeDone(migrated, Effect.succeed(Number.isNaN(at) ? Date.now() : at))
      }
    }
    createInterface({ input: child.stdout! }).on("line", onLine)
    createInterface({ input: child.stderr! }).on("line", onLine)
    const tail = () => lines.slice(-40).join("\n")
    child.once("exit", (code, signal) =>
      Deferred.unsafeDone(
        migrated,
        Effect.fail(new DaemonFailed({ message: `daemon exited (${code ?? signal}) before migrating:\n${tail()}` }))
      )
    )
    return {
      pid: child.pid!,
      migrated: Deferred.await(migrated).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(60),
          onTimeout: () => new DaemonFailed({ message: `daemon did not migrate within 60 s:\n${tail()}` })
        })
      ),
      stats: () => procStats(child.pid!),
      count: (text: string) => counts.get(text) ?? 0,
      tail,
      running: () => child.exitCode === null && child.signalCode === null,
      stop: Effect.promise(() => terminate(child))
    } satisfies Daemon
  })
