import { execFile } from "node:child_process"
import { chown, mkdir, mkdtemp, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Data, Effect, Layer } from "effect"
import { migrateDatabase } from "../../packages/db/src/Migrator.js"
import { freePort as freePortOf } from "./ports.js"

export class OwnPostgresError extends Data.TaggedError("OwnPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface OwnPostgresOptions {
  /** Database created (and migrated, unless `migrate: false`) in the private cluster. */
  readonly database?: string
  readonly migrate?: boolean
}

export interface OwnPostgresHandle {
  readonly port: number
  /** URL of the migrated database. */
  readonly url: string
  /** URL of the `postgres` maintenance database of the cluster. */
  readonly adminUrl: string
  readonly dataDir: string
  /** `fast` disconnects clients and shuts down cleanly; `immediate` is a crash (recovery at the next start). */
  readonly stop: (mode?: "fast" | "immediate") => Effect.Effect<void, OwnPostgresError>
  readonly start: () => Effect.Effect<void, OwnPostgresError>
  readonly restart: (mode?: "fast" | "immediate") => Effect.Effect<void, OwnPostgresError>
  readonly isRunning: () => boolean
  /** The server log so far. */
  readonly log: Effect.Effect<string>
}

const run = (file: string, args: ReadonlyArray<string>, asPostgres: boolean) =>
  Effect.async<string, OwnPostgresError>(resume => {
    const [cmd, argv] =
      asPostgres && process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args]
    const child = execFile(cmd, argv, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        resume(
          Effect.fail(
            new OwnPostgresError({ message: `${file} ${args.join(" ")}: ${stderr || error.message}`, cause: error })
          )
        )
      } else {
        resume(Effect.succeed(stdout))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const postgresBinDir = Effect.tryPromise({
  try: async () => {
    const versions = (await readdir("/usr/lib/postgresql"))
      .filter(v => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    if (versions.length === 0) throw new Error("no /usr/lib/postgresql/<version>")
    return `/usr/lib/postgresql/${versions[0]}/bin`
  },
  catch: cause => new OwnPostgresError({ message: "PostgreSQL server binaries not found", cause })
})

const freePort = Effect.tryPromise({
  try: freePortOf,
  catch: cause => new OwnPostgresError({ message: "no free port", cause })
})

const postgresIds = Effect.gen(function* () {
  const uid = Number((yield* run("id", ["-u", "postgres"], false)).trim())
  const gid = Number((yield* run("id", ["-g", "postgres"], false)).trim())
  return { uid, gid }
})

/**
 * A private PostgreSQL cluster on a free port, for drills that stop or restart the server (never touch the shared
 * one). Trust auth, fsync off; the data directory and everything else are removed when the scope closes.
 */
export const makeOwnPostgres = (options: OwnPostgresOptions = {}) =>
  Effect.gen(function* () {
    const bin = yield* postgresBinDir
    const port = yield* freePort
    const root = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(tmpdir(), "own-pg-")),
        catch: cause => new OwnPostgresError({ message: "cannot create a temporary directory", cause })
      }),
      dir => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const dataDir = join(root, "data")
    const socketDir = join(root, "sock")
    const logFile = join(root, "server.log")
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dataDir)
        await mkdir(socketDir)
        if (process.getuid?.() === 0) {
          const { uid, gid } = await Effect.runPromise(postgresIds)
          for (const path of [root, dataDir, socketDir]) await chown(path, uid, gid)
        }
      },
      catch: cause => new OwnPostgresError({ message: "cannot prepare the data directory", cause })
    })
    yield* run(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], true)

    let running = false
    const pgCtl = (args: ReadonlyArray<string>) => run(join(bin, "pg_ctl"), ["-D", dataDir, ...args], true)
    const serverOptions = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${socketDir}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200"
    ].join(" ")
    const start = Effect.suspend(() =>
      running ? Effect.void : pgCtl(["-w", "-t", "60", "-l", logFile, "-o", serverOptions, "start"])
    ).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          running = true
        })
      ),
      Effect.asVoid
    )
    const stop = (mode: "fast" | "immediate" = "fast") =>
      Effect.suspend(() => (running ? pgCtl(["-w", "-t", "60", "-m", mode, "stop"]) : Effect.void)).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            running = false
          })
        ),
        Effect.asVoid
      )
    yield* Effect.acquireRelease(start, () => Effect.ignore(stop("immediate")))

    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
    const url = `postgres://postgres@127.0.0.1:${port}/${options.database ?? "cliq_mirror"}`
    if (options.migrate ?? true) {
      yield* migrateDatabase(url).pipe(
        Effect.mapError(cause => new OwnPostgresError({ message: `migration failed: ${cause.message}`, cause }))
      )
    }
    const handle: OwnPostgresHandle = {
      port,
      url,
      adminUrl,
      dataDir,
      stop,
      start: () => start,
      restart: mode => Effect.zipRight(stop(mode), start),
      isRunning: () => running,
      log: run("cat", [logFile], false).pipe(Effect.orElseSucceed(() => ""))
    }
    return handle
  })

export class OwnPostgres extends Effect.Tag("test/OwnPostgres")<OwnPostgres, OwnPostgresHandle>() {
  static readonly layer = (options: OwnPostgresOptions = {}) => Layer.scoped(OwnPostgres, makeOwnPostgres(options))
}
