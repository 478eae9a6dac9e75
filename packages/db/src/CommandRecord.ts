import {
  type Command,
  CommandSchema,
  type CommandStatus,
  CommandStatusSchema,
  type ErrorInfo,
  firstIssue
} from "@cliq-mirror/core"
import { getTableColumns } from "drizzle-orm"
import { Data, Effect, Either, Schema } from "effect"
import { commands } from "./schema.js"

export type CommandRow = typeof commands.$inferSelect

const COLUMNS = Object.entries(getTableColumns(commands))

/** The select list of a command row for hand-written SQL, from the drizzle table: `"account_id" as "accountId"`, … */
export const commandColumns = COLUMNS.map(([key, column]) => `"${column.name}" as "${key}"`).join(", ")

/** A row read by hand-written SQL, each value mapped as drizzle maps it (timestamps to Dates, bigserial to numbers). */
export const fromDriver = (raw: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(
    COLUMNS.map(([key, column]) => {
      const value = raw[key]
      return [key, value === null || value === undefined ? null : column.mapFromDriverValue(value)]
    })
  )

/** A stored command: its typed `type` + `params` and what the pipeline keeps about it. */
export type CommandRecord = Command & {
  readonly id: string
  readonly accountId: string
  readonly chatId: string | null
  readonly status: CommandStatus
  readonly attempts: number
  readonly retries: number
  /** The claim token (`Claim` in CommandsRepo): claims and operator retries, never given back. */
  readonly claims: number
  readonly lastError: ErrorInfo | null
  readonly result: Readonly<Record<string, unknown>> | null
  readonly supersededBy: string | null
  readonly eta: Date | null
  readonly leaseUntil: Date | null
  readonly needsCheck: boolean
  readonly batchId: string | null
  readonly intakeSeq: number
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly completedAt: Date | null
}

/** A command row that does not decode (an unknown type or status, parameters that break today's rules). */
export class CommandRowInvalid extends Data.TaggedError("CommandRowInvalid")<{
  readonly id: string
  readonly field: string
  readonly message: string
}> {}

const Time = Schema.DateFromSelf
const Row = Schema.Struct({
  id: Schema.String,
  accountId: Schema.String,
  chatId: Schema.NullOr(Schema.String),
  status: CommandStatusSchema,
  attempts: Schema.Number,
  retries: Schema.Number,
  claims: Schema.Number,
  lastError: Schema.NullOr(Schema.Struct({ code: Schema.String, message: Schema.String })),
  result: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  supersededBy: Schema.NullOr(Schema.String),
  eta: Schema.NullOr(Time),
  leaseUntil: Schema.NullOr(Time),
  needsCheck: Schema.Boolean,
  batchId: Schema.NullOr(Schema.String),
  intakeSeq: Schema.Number,
  createdAt: Time,
  updatedAt: Time,
  completedAt: Schema.NullOr(Time)
})
const Stored = Schema.Struct({ command: CommandSchema, row: Row })
const decodeStored = Schema.decodeUnknownEither(Stored)

const idOf = (row: unknown) =>
  typeof row === "object" && row !== null && "id" in row && typeof row.id === "string" ? row.id : "?"

/** A command row (drizzle's, or `fromDriver` of hand-written SQL's) decoded; never cast. */
export const decodeCommandRow = (row: unknown): Either.Either<CommandRecord, CommandRowInvalid> =>
  decodeStored({
    command:
      typeof row === "object" && row !== null && "type" in row && "payload" in row
        ? { type: row.type, params: row.payload }
        : undefined,
    row
  }).pipe(
    Either.mapLeft(e => {
      const issue = firstIssue(e)
      return new CommandRowInvalid({ id: idOf(row), field: issue.path, message: issue.message })
    }),
    Either.map(({ command, row }) => ({ ...row, ...command }))
  )

export const decodeCommandRows = (rows: ReadonlyArray<unknown>) => Effect.forEach(rows, row => decodeCommandRow(row))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Only a well-formed uuid can name a command: anything else is simply not found (no cast in SQL). */
export const isCommandId = (id: string): boolean => UUID.test(id)
