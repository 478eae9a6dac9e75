import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface DaemonProcess {
  readonly child: ChildProcess
  /** Null while running. */
  readonly exitCode: () => number | null
  readonly output: () => string
  /** SIGKILL: no finaliser runs, an open transaction is cut. */
  readonly kill9: () => Promise<void>
  readonly stop: () => Promise<number | null>
}

/** `npm run daemon` as a real OS process, with exactly the given environment (plus PATH). */
export const startDaemon = (env: Record<string, string>, entry = "apps/daemon/src/main.ts"): DaemonProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    // Each test daemon serves its metrics on a port of its own (0: any free one), never the fixed default.
    env: { PATH: process.env.PATH ?? "", METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout?.on("data", d => {
    out += String(d)
  })
  child.stderr?.on("data", d => {
    out += String(d)
  })
  let exitCode: number | null = null
  const exited = new Promise<number | null>(resolve =>
    child.on("exit", code => {
      exitCode = code ?? -1
      resolve(code)
    })
  )
  return {
    child,
    exitCode: () => exitCode,
    output: () => out,
    kill9: async () => {
      child.kill("SIGKILL")
      await exited
    },
    stop: async () => {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

/** The daemon's environment against a simulator, a test database and a Redis prefix (plus any overrides). */
export const daemonEnv = (
  target: {
    readonly apiBaseUrl: string
    readonly token: string
    readonly databaseUrl: string
    readonly redisUrl: string
  },
  prefix: string,
  timeScale: number,
  overrides: Record<string, string> = {}
): Record<string, string> => ({
  DATABASE_URL: target.databaseUrl,
  REDIS_URL: target.redisUrl,
  REDIS_PREFIX: prefix,
  CLIQ_ACCESS_TOKEN: target.token,
  CLIQ_API_BASE_URL: target.apiBaseUrl,
  CLIQ_TIME_SCALE: String(timeScale),
  LOG_LEVEL: "warn",
  ...overrides
})
