import { Effect } from "effect"
import type postgres from "postgres"
import { procStats } from "./Processes.js"

/** CPU time of the server processes serving one database (PostgreSQL runs on this machine), except this session's. */
export const backendCpuMs = (sql: postgres.Sql, database: string) =>
  Effect.promise(async () => {
    const rows = await sql<Array<{ pid: number }>>`
      select pid from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`
    return rows.reduce((sum, r) => sum + (procStats(r.pid)?.cpuMs ?? 0), 0)
  })
