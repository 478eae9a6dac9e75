import { type DomainEvent, firstIssue, readEvent } from "@cliq-mirror/core"
import { and, asc, eq, gt, inArray } from "drizzle-orm"
import { Data, Effect, Either } from "effect"
import { Database } from "./Database.js"
import { events } from "./schema.js"

/**
 * Reading `seq > after` is gap-free because every append takes EVENTS_APPEND_LOCK (a transaction-scoped advisory
 * lock) just before its insert: appends are serialised up to commit, so seq order equals commit order and seq n+1
 * can never be visible while seq n is still uncommitted.
 */
export { EVENTS_APPEND_LOCK } from "./EventAppend.js"

export interface EventsReadRequest {
  readonly after: number
  readonly limit: number
  readonly chatId?: string | undefined
  readonly types?: ReadonlyArray<string> | undefined
}

export type EventRow = Omit<typeof events.$inferSelect, "dedupeKey" | "type" | "payload"> & DomainEvent

/** A stored event its schema does not read: a defect of the log, surfaced rather than passed on untyped. */
export class EventUndecodable extends Data.TaggedError("EventUndecodable")<{
  readonly seq: number
  readonly type: string
  readonly message: string
}> {}

const decodeRow = <R extends { readonly seq: number; readonly type: string; readonly payload: unknown }>(row: R) =>
  Either.match(readEvent(row.type, row.payload), {
    onLeft: error => {
      const issue = firstIssue(error)
      return Effect.die(
        new EventUndecodable({ seq: row.seq, type: row.type, message: `${issue.path}: ${issue.message}` })
      )
    },
    onRight: event => Effect.succeed({ ...row, ...event })
  })

export class EventsFeed extends Effect.Service<EventsFeed>()("@cliq-mirror/db/EventsFeed", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const read = Effect.fn("EventsFeed.read")(function* (request: EventsReadRequest) {
      const stored = yield* database.use(db =>
        db
          .select({
            seq: events.seq,
            eventId: events.eventId,
            accountId: events.accountId,
            chatId: events.chatId,
            type: events.type,
            payload: events.payload,
            occurredAt: events.occurredAt,
            recordedAt: events.recordedAt
          })
          .from(events)
          .where(
            and(
              gt(events.seq, request.after),
              request.chatId === undefined ? undefined : eq(events.chatId, request.chatId),
              request.types === undefined ? undefined : inArray(events.type, [...request.types])
            )
          )
          .orderBy(asc(events.seq))
          .limit(request.limit)
          .prepare("events_feed")
          .execute()
      )
      const rows: ReadonlyArray<EventRow> = yield* Effect.forEach(stored, decodeRow)
      return { rows, nextAfter: rows[rows.length - 1]?.seq ?? request.after }
    })

    return { read } as const
  }),
  dependencies: [Database.Default]
}) {}
