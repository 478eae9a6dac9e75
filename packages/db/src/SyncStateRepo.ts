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
    // The queue is versioned (docs/architecture.md, Streams: hidden). Next to `pending`, the ids in order of first
    // enqueue, the cursor keeps `gen`, a counter every enqueue statement increments, and `gens`, each queued id's gen at
    // its latest enqueue. A pass reads the ids with the gen it saw (`queued`) and its dequeue removes only the ids not
    // enqueued since: a chat that moves again while a pass that already read it is listing stays queued for the next
    // pass, where the plain removal by value lost that move until the state backstop. A row written before versioning
    // (`pending` without `gen` / `gens`) reads as gen 0 and its ids are removable by any dequeue: no migration.
    /** Chat ids queued in a stream's cursor (`pending`), oldest first, with the queue's gen when read. */
    const queued = (accountId: string, stream: string) =>
      Effect.suspend(() => {
        const key = queueKey(accountId, stream)
        if (drained.has(key)) return Effect.succeed({ ids: [] as ReadonlyArray<string>, gen: 0 })
        const before = enqueues
        return database.use(async (_, sql) => {
          // One row per queued id, each carrying the gen (text: an int8), so an empty queue reads as no rows.
          const rows = await sql<Array<{ id: string; gen: string }>>`
            select e.id, coalesce((cursor->>'gen')::bigint, 0)::text as gen
            from sync_state, jsonb_array_elements_text(coalesce(cursor->'pending', '[]'::jsonb)) with ordinality as e(id, n)
            where account_id = ${accountId} and stream = ${stream}
            order by e.n`
          if (rows.length === 0 && enqueues === before) drained.add(key)
          return {
            ids: rows.map(r => r.id) as ReadonlyArray<string>,
            gen: rows.length === 0 ? 0 : Number(rows[0]!.gen)
          }
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
    const enqueue = (accountId: string, stream: string, chatIds: ReadonlyArray<string>) => {
      // Deduplicated here too, keeping first positions: a new row takes the list as it is.
      const ids = [...new Set(chatIds)]
      const fresh = { pending: ids, gen: 1, gens: Object.fromEntries(ids.map(id => [id, 1])) }
      return ids.length === 0
        ? Effect.void
        : Effect.zipRight(
            forget(accountId, stream),
            database
              .use(
                // One statement, holding the row's lock: under READ COMMITTED a concurrent enqueue or dequeue that
                // committed first is seen, as the SET is evaluated again on the latest row version. The queue's new
                // gen is the stored one plus one; every id enqueued takes it in `gens` (see `queued`), and `pending`
                // merges the ids, deduplicated, each at its first position.
                (_, sql) => sql`
          insert into sync_state (account_id, stream, cursor)
          values (${accountId}, ${stream}, ${JSON.stringify(fresh)}::text::jsonb)
          on conflict (account_id, stream) do update set cursor = sync_state.cursor || (
            select jsonb_build_object(
              'pending', (
                select coalesce(jsonb_agg(id order by first), '[]'::jsonb) from (
                  select id, min(n) as first from jsonb_array_elements_text(
                    coalesce(sync_state.cursor->'pending', '[]'::jsonb) || (excluded.cursor->'pending')
                  ) with ordinality as e(id, n) group by id) ids),
              'gen', next.gen,
              'gens', coalesce(sync_state.cursor->'gens', '{}'::jsonb) || (
                select jsonb_object_agg(id, next.gen) from jsonb_array_elements_text(excluded.cursor->'pending') as e(id)))
            from (select coalesce((sync_state.cursor->>'gen')::bigint, 0) + 1 as gen) next), updated_at = now()`
              )
              .pipe(Effect.asVoid, Effect.ensuring(forget(accountId, stream)))
          )
    }
    /**
     * Removes from the queue the ids a pass read at `gen` (`queued`) and has applied; an id enqueued again since (its
     * stored gen above `gen`) stays, for the next pass. An id with no stored gen (a row from before versioning) goes.
     */
    const dequeue = (accountId: string, stream: string, chatIds: ReadonlyArray<string>, gen: number) =>
      database
        .use(
          // `done`: the ids to remove, judged on the row version the update locks (READ COMMITTED re-evaluates the
          // SET on the latest one, so an enqueue that committed meanwhile keeps its ids). They leave `pending` and
          // `gens` both.
          (_, sql) => sql`
          update sync_state set cursor = cursor || (
            select jsonb_build_object(
              'pending', (
                select coalesce(jsonb_agg(id order by n), '[]'::jsonb)
                from jsonb_array_elements_text(coalesce(cursor->'pending', '[]'::jsonb)) with ordinality as e(id, n)
                where id <> all(done.ids)),
              'gens', coalesce(cursor->'gens', '{}'::jsonb) - done.ids)
            from (
              select coalesce(array_agg(id), '{}'::text[]) as ids from unnest(${[...chatIds]}::text[]) as d(id)
              where coalesce((sync_state.cursor->'gens'->>id)::bigint, 0) <= ${gen}::bigint) done),
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
      queued: Effect.fn("SyncStateRepo.queued")(queued),
      forgetAccount,
      enqueue: Effect.fn("SyncStateRepo.enqueue")(enqueue),
      dequeue: Effect.fn("SyncStateRepo.dequeue")(dequeue),
      recordSuccess: Effect.fn("SyncStateRepo.recordSuccess")(recordSuccess),
      recordCredentials: Effect.fn("SyncStateRepo.recordCredentials")(recordCredentials),
      recordFailure: Effect.fn("SyncStateRepo.recordFailure")(recordFailure)
    } as const
  })
}) {}
