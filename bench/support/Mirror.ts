import { Data, Effect } from "effect"
import type postgres from "postgres"
import type { Daemon } from "./Processes.js"

export const ACCOUNT = "default"

export class WaitTimedOut extends Data.TaggedError("WaitTimedOut")<{ readonly message: string }> {}

export interface BackfillState {
  readonly highWaterMs: number | null
  readonly chatsObserved: number
}

export const incrementalState = (sql: postgres.Sql) =>
  Effect.promise(async (): Promise<BackfillState> => {
    const [row] = await sql<Array<{ high_water_ms: string | null; chats_observed: string }>>`
      select high_water_ms, chats_observed from sync_state where account_id = ${ACCOUNT} and stream = 'incremental'`
    return {
      highWaterMs: row?.high_water_ms == null ? null : Number(row.high_water_ms),
      chatsObserved: Number(row?.chats_observed ?? 0)
    }
  })

export const countRows = (sql: postgres.Sql, table: "chats" | "events") =>
  Effect.promise(async () => Number((await sql.unsafe(`select count(*)::bigint as n from ${table}`))[0]!.n))

/**
 * Polls `probe` every `everyMs` until it yields a value; fails when the daemon dies or `timeoutMs` passes, with the
 * daemon's last log lines.
 */
export const pollUntil = <A, E>(
  what: string,
  probe: Effect.Effect<A | undefined, E>,
  options: { readonly everyMs: number; readonly timeoutMs: number; readonly daemon: Daemon }
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + options.timeoutMs
    while (true) {
      const value = yield* probe
      if (value !== undefined) return value
      if (!options.daemon.running())
        return yield* new WaitTimedOut({
          message: `daemon exited while waiting for ${what}:\n${options.daemon.tail()}`
        })
      if (Date.now() > deadline)
        return yield* new WaitTimedOut({
          message: `${what} not reached within ${options.timeoutMs / 1000} s:\n${options.daemon.tail()}`
        })
      yield* Effect.sleep(options.everyMs)
    }
  })
