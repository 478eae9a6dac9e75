import { Effect, Exit, Fiber, Scope } from "effect"
import { Database, type DbError } from "./Database.js"
import { makeFairGate } from "./FairGate.js"
import {
  chatIdsOf,
  chunkPage,
  commitPage,
  latestById,
  mayBeQuiet,
  type ObservedChat,
  type PageResult,
  type PageWrite,
  preparePage,
  quietPage,
  touchesAny,
  withoutRepeats
} from "./PageWrite.js"

export class MirrorWriter extends Effect.Service<MirrorWriter>()("@cliq-mirror/db/MirrorWriter", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    // Page writes of every account of the process take turns here rather than at the pool, whose waits time out: a
    // page whose upstream call was paid for is written, however many accounts write at once. Some connections stay
    // for the other transactions (commands, outbox) and for plain statements.
    const writers = makeFairGate(Math.max(1, database.max - 3))
    /**
     * A transaction on a connection of its own, rolled back when the scope closes unless it committed. If the server
     * closed the connection, the rollback fails with CONNECTION_CLOSED and `release` leaves the connection to the pool
     * (the driver as patched in patches/, see patches/README.md: upstream it crashes the process, porsager/postgres#1208).
     */
    const transaction = Effect.acquireRelease(
      database.use(async (_, sql) => {
        const conn = await sql.reserve()
        await conn`begin`.catch(error => {
          conn.release()
          throw error
        })
        return { conn, committed: false }
      }),
      tx =>
        Effect.promise(() =>
          (tx.committed
            ? Promise.resolve()
            : tx.conn`rollback`.then(
                () => undefined,
                () => undefined
              )
          ).finally(() => tx.conn.release())
        )
    )

    // Per account, how many of its page writes appended events in this process: a stream that only acts on changes
    // (members) looks here before it queries.
    const changes = new Map<string, number>()
    const counted = (accountId: string) => (result: PageResult) => {
      if (result.eventsAppended > 0) changes.set(accountId, (changes.get(accountId) ?? 0) + 1)
      return result
    }

    /** The page when it changes nothing (`quietPage`: no transaction, no lock), else undefined. */
    const quiet = (page: PageWrite) =>
      mayBeQuiet(page) ? database.use((_, sql) => quietPage(sql, page)) : Effect.succeed(undefined)

    const applyOne = (page: PageWrite) =>
      writers.withPermit(
        Effect.scoped(
          Effect.gen(function* () {
            const unchanged = yield* quiet(page)
            if (unchanged !== undefined) return unchanged
            const tx = yield* transaction
            const result = yield* database.use(async () => {
              const result = await commitPage(tx.conn, await preparePage(tx.conn, page), { commit: true })
              tx.committed = true
              return result
            })
            return counted(page.accountId)(result)
          })
        )
      )
    // Uninterruptible: on SIGTERM the open transaction finishes before the pool closes. A page of many chats is
    // written in parts (chunkPage), one transaction each, so that none takes an unbounded number of locks.
    const apply = (page: PageWrite): Effect.Effect<PageResult, DbError> =>
      Effect.uninterruptible(
        Effect.reduce(chunkPage(page), { eventsAppended: 0, chatsChanged: 0, chatsObserved: 0 }, (sum, part) =>
          Effect.map(applyOne(part), r => ({
            eventsAppended: sum.eventsAppended + r.eventsAppended,
            chatsChanged: sum.chatsChanged + r.chatsChanged,
            chatsObserved: sum.chatsObserved + r.chatsObserved
          }))
        )
      )

    /**
     * Writes pages in the order given, each in its own transaction like `apply`. A page is locked and diffed while
     * the previous one commits, and commits only once that one has: the cursor never passes a page that did not
     * commit, and if a commit fails the page prepared behind it rolls back. A page that shares chats with the one
     * committing (a walk's overlapping boundary second; left out when observed exactly as that page applied them) is
     * locked and diffed only after that commit, against what it wrote, all its chats in one statement: every writer
     * takes its chat locks in one statement, in one order, so none can deadlock with another. `flush` waits for the
     * last commit.
     */
    const inOrder = Effect.sync(() => {
      let committing: Fiber.RuntimeFiber<PageResult, DbError> | undefined
      let busy: ReadonlySet<string> = new Set()
      let applied: ReadonlyMap<string, ObservedChat> = new Map()
      const write = (page: PageWrite) =>
        Effect.gen(function* () {
          if (committing === undefined && mayBeQuiet(page)) {
            const unchanged = yield* writers.withPermit(quiet(page))
            if (unchanged !== undefined) {
              busy = new Set()
              applied = new Map()
              committing = yield* Effect.fork(Effect.succeed(unchanged))
              return
            }
          }
          const scope = yield* Scope.make()
          const fresh = committing ? withoutRepeats(page, applied) : page
          // Chats the previous page holds, observed otherwise than it applied them: this page waits for that commit
          // and then locks all its chats in one statement. Taking the others first and these after, in a second
          // statement, would break the one order every writer takes chat locks in, and deadlocked with command
          // settlements of the same chats (seen in the bulk bench).
          const waitsFirst = committing !== undefined && touchesAny(fresh, busy)
          const commit = Effect.gen(function* () {
            yield* Scope.extend(
              Effect.acquireRelease(writers.take, () => writers.release),
              scope
            )
            const tx = yield* Scope.extend(transaction, scope)
            // Commits in page order. Locks are too: `write` returns only once its page holds its locks, so a page
            // never waits for a lock of the page after it, which waits (here, unseen by PostgreSQL) for its commit.
            if (committing && waitsFirst) yield* Fiber.join(committing)
            const prepared = yield* database.use(() => preparePage(tx.conn, fresh))
            if (committing && !waitsFirst) yield* Fiber.join(committing)
            return database
              .use(async () => {
                const result = await commitPage(tx.conn, prepared, { commit: true })
                tx.committed = true
                return result
              })
              .pipe(Effect.map(counted(page.accountId)))
          })
          const finish = yield* commit.pipe(Effect.onError(cause => Scope.close(scope, Exit.failCause(cause))))
          busy = chatIdsOf(page)
          applied = latestById(page.observed ?? [])
          committing = yield* Effect.fork(
            finish.pipe(
              Effect.onExit(exit => Scope.close(scope, exit)),
              Effect.uninterruptible
            )
          )
        }).pipe(Effect.uninterruptible)
      const flush = Effect.suspend(() => (committing ? Fiber.join(committing) : Effect.succeed(undefined)))
      return { write: Effect.fn("MirrorWriter.write")(write), flush } as const
    })

    const ensureAccount = (accountId: string) =>
      database
        .use((_, sql) => sql`insert into accounts (id) values (${accountId}) on conflict do nothing`)
        .pipe(Effect.asVoid)
    /**
     * Refreshes the planner's statistics (after the first pages of a backfill into an empty mirror). At most one per
     * minute per process: a fleet of accounts starting their backfills together would otherwise queue ANALYZEs, which
     * lock each other out.
     */
    let analyzedAt = Number.NEGATIVE_INFINITY
    const analyze = Effect.suspend(() => {
      if (Date.now() - analyzedAt < 60_000) return Effect.void
      analyzedAt = Date.now()
      return database.use((_, sql) => sql`analyze chats`)
    }).pipe(Effect.asVoid, Effect.withSpan("MirrorWriter.analyze"))
    return {
      analyze,
      apply: Effect.fn("MirrorWriter.apply")(apply),
      inOrder,
      changesOf: (accountId: string): number => changes.get(accountId) ?? 0,
      ensureAccount: Effect.fn("MirrorWriter.ensureAccount")(ensureAccount)
    } as const
  })
}) {}
