import { Effect } from "effect"
import { Database } from "./Database.js"

export interface StreamState {
  readonly highWaterMs: number | null
  readonly boundaryIds: ReadonlyArray<string>
  readonly cursor: Record<string, unknown>
  readonly consecutiveFailures: number
}

const EMPTY: StreamState = { highWaterMs: null, boundaryIds: [], cursor: {}, consecutiveFailures: 0 }

export class SyncStateRepo extends Effect.Service<SyncStateRepo>()("@cliq-mirror/db/SyncStateRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const read = (accountId: string, stream: string) =>
      database.use(async (_, sql) => {
        const rows = await sql<
          Array<{
            high_water_ms: string | null
            boundary_ids: Array<string>
            cursor: Record<string, unknown>
            consecutive_failures: number
          }>
        >`select high_water_ms, boundary_ids, cursor, consecutive_failures from sync_state
          where account_id = ${accountId} and stream = ${stream}`
        const r = rows[0]
        if (!r) return EMPTY
        return {
          highWaterMs: r.high_water_ms === null ? null : Number(r.high_water_ms),
          boundaryIds: r.boundary_ids,
          cursor: r.cursor,
          consecutiveFailures: r.consecutive_failures
        } satisfies StreamState
      })
    const recordFailure = (
      accountId: string,
      stream: string,
      error: { code: string; message: string },
      status: "backing_off" | "paused_credentials" = "backing_off"
    ) =>
      database
        .use(
          (_, sql) => sql`
          insert into sync_state (account_id, stream, status, last_error, consecutive_failures, last_run_at)
          values (${accountId}, ${stream}, ${status},
            ${JSON.stringify({ ...error, at: new Date().toISOString() })}::text::jsonb, 1, now())
          on conflict (account_id, stream) do update set status = excluded.status, last_error = excluded.last_error,
            consecutive_failures = sync_state.consecutive_failures + 1, last_run_at = now(), updated_at = now()`
        )
        .pipe(Effect.asVoid)
    /** A pass of a stream that writes no cursor of its own ended well: its row shows it, not an older failure. */
    const recordSuccess = (accountId: string, stream: string) =>
      database
        .use(
          (_, sql) => sql`
          insert into sync_state (account_id, stream, status, last_run_at, last_success_at)
          values (${accountId}, ${stream}, 'idle', now(), now())
          on conflict (account_id, stream) do update set status = 'idle', last_error = null, consecutive_failures = 0,
            last_run_at = now(), last_success_at = now(), updated_at = now()`
        )
        .pipe(Effect.asVoid)
    // Queues this process found empty and has not enqueued to since: polling one costs no round trip. Only the
    // process holding an account's lease enqueues for it; one that takes an account (over, or back) forgets its marks
    // of it first (`forgetAccount`), so its first look reads the stored queue. An enqueue forgets the mark before and
    // after its write, so a read that overlaps it never marks the queue empty.
    const drained = new Set<string>()
    let enqueues = 0
    const queueKey = (accountId: string, stream: string) => `${accountId}\u0000${stream}`
    /** Chat ids queued in a stream's cursor (`pending`), oldest first. */
    const pending = (accountId: string, stream: string) =>
      Effect.suspend(() => {
        const key = queueKey(accountId, stream)
        if (drained.has(key)) return Effect.succeed([] as Array<string>)
        const before = enqueues
        return database.use(async (_, sql) => {
          const rows = await sql<Array<{ id: string }>>`
            select jsonb_array_elements_text(coalesce(cursor->'pending', '[]'::jsonb)) as id from sync_state
            where account_id = ${accountId} and stream = ${stream}`
          if (rows.length === 0 && enqueues === before) drained.add(key)
          return rows.map(r => r.id)
        })
      })
    /**
     * Forgets what this process knew of an account's queues: called when it takes the account (again). Another process
     * may have held it in between and queued chats this process's earlier "drained" mark would hide.
     */
    const forgetAccount = (accountId: string) =>
      Effect.sync(() => {
        enqueues++
        for (const key of drained) if (key.startsWith(queueKey(accountId, ""))) drained.delete(key)
      })
    const forget = (accountId: string, stream: string) =>
      Effect.sync(() => {
        enqueues++
        drained.delete(queueKey(accountId, stream))
      })
    const enqueue = (accountId: string, stream: string, chatIds: ReadonlyArray<string>) =>
      chatIds.length === 0
        ? Effect.void
        : Effect.zipRight(
            forget(accountId, stream),
            database
              .use(
                (_, sql) => sql`
          insert into sync_state (account_id, stream, cursor)
          values (${accountId}, ${stream}, jsonb_build_object('pending', ${JSON.stringify(chatIds)}::text::jsonb))
          on conflict (account_id, stream) do update set cursor = jsonb_set(sync_state.cursor, '{pending}', (
            select coalesce(jsonb_agg(id order by first), '[]'::jsonb) from (
              select id, min(n) as first from jsonb_array_elements_text(
                coalesce(sync_state.cursor->'pending', '[]'::jsonb) || (excluded.cursor->'pending')
              ) with ordinality as e(id, n) group by id) ids)), updated_at = now()`
              )
              .pipe(Effect.asVoid, Effect.ensuring(forget(accountId, stream)))
          )
    const dequeue = (accountId: string, stream: string, chatIds: ReadonlyArray<string>) =>
      database
        .use(
          (_, sql) => sql`
          update sync_state set cursor = jsonb_set(cursor, '{pending}', (
            select coalesce(jsonb_agg(id order by n), '[]'::jsonb)
            from jsonb_array_elements_text(coalesce(cursor->'pending', '[]'::jsonb)) with ordinality as e(id, n)
            where id <> all(${[...chatIds]}::text[]))),
            status = 'idle', last_run_at = now(), last_success_at = now(), last_error = null, consecutive_failures = 0,
            updated_at = now()
          where account_id = ${accountId} and stream = ${stream}`
        )
        .pipe(Effect.asVoid)
    const recordCredentials = (
      accountId: string,
      state: "ok" | "needs_reauthorisation",
      problem?: { readonly reason: string; readonly since: Date }
    ) =>
      database
        .use(
          (_, sql) => sql`
          insert into account_credentials (account_id, state, reason, since, checked_at)
          values (${accountId}, ${state}, ${problem?.reason ?? null}, ${problem?.since.toISOString() ?? null}::timestamptz,
            now())
          on conflict (account_id) do update set state = excluded.state, reason = excluded.reason,
            since = case when account_credentials.state = excluded.state and excluded.since is not null
              then account_credentials.since else excluded.since end,
            checked_at = now()`
        )
        .pipe(Effect.asVoid)
    return {
      read: Effect.fn("SyncStateRepo.read")(read),
      pending: Effect.fn("SyncStateRepo.pending")(pending),
      forgetAccount,
      enqueue: Effect.fn("SyncStateRepo.enqueue")(enqueue),
      dequeue: Effect.fn("SyncStateRepo.dequeue")(dequeue),
      recordSuccess: Effect.fn("SyncStateRepo.recordSuccess")(recordSuccess),
      recordCredentials: Effect.fn("SyncStateRepo.recordCredentials")(recordCredentials),
      recordFailure: Effect.fn("SyncStateRepo.recordFailure")(recordFailure)
    } as const
  })
}) {}
