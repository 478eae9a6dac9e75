import {
  CHAT_TYPES,
  ChatType,
  COMMAND_STATUSES,
  COMMAND_TYPES,
  type CommandStatus,
  type CommandType
} from "@cliq-mirror/core"
import { Option, ParseResult, Schema } from "effect"

export const MAX_LIMIT = 1000
export const DEFAULT_LIMIT = 100
export const MAX_ID_LENGTH = 128
export const MAX_Q_LENGTH = 200
export const MAX_CURSOR_LENGTH = 4096
const MAX_EVENT_TYPES = 50
const MAX_EVENT_TYPE_LENGTH = 100

/**
 * A repeated query parameter arrives as an array; every parameter here is single-valued. NUL and unpaired surrogates
 * are refused here, for every parameter, as PostgreSQL cannot store them.
 */
const Single = Schema.String.annotations({ message: () => "must be given once" }).pipe(
  Schema.filter(s => !/[\0\p{Cs}]/u.test(s), {
    message: () => "must not contain NUL or unpaired surrogate characters"
  })
)

/**
 * A query or path parameter with its rule: the rule is the whole 400 message (after "field: "), so each one says
 * what is accepted rather than what went wrong inside the parser.
 */
const param = <A, I>(
  to: Schema.Schema<A, I>,
  rule: string,
  parse: (raw: string) => Option.Option<I>,
  print: (value: I) => string,
  description: string
) =>
  Schema.transformOrFail(Single, to, {
    strict: true,
    decode: (raw, _, ast) =>
      Option.match(parse(raw), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, raw, rule)),
        onSome: ParseResult.succeed
      }),
    encode: value => ParseResult.succeed(print(value))
  }).annotations({ description: `${description} (${rule})` })

const text = (min: number, max: number, description: string) =>
  param(
    Schema.String,
    min === 0 ? `must be at most ${max} characters` : `must be ${min} to ${max} characters`,
    raw => (raw.length >= min && raw.length <= max ? Option.some(raw) : Option.none()),
    s => s,
    description
  )

const integer = (min: number, max: number, rule: string, description: string) =>
  param(
    Schema.Int,
    rule,
    raw => {
      if (!/^\d{1,16}$/.test(raw)) return Option.none()
      const n = Number(raw)
      return n >= min && n <= max ? Option.some(n) : Option.none()
    },
    String,
    description
  )

export const Limit = integer(1, MAX_LIMIT, `must be an integer between 1 and ${MAX_LIMIT}`, "Page size, default 100")

export const BooleanParam = (description: string) =>
  param(
    Schema.Boolean,
    "must be true or false",
    raw => (raw === "true" ? Option.some(true) : raw === "false" ? Option.some(false) : Option.none()),
    String,
    description
  )

export const Id = (description: string) => text(1, MAX_ID_LENGTH, description)

/** The ISO 8601 spellings docs/api.md accepts (#times): date alone, or date-time with optional seconds, fraction, offset. */
const ISO_SPELLING =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31

/**
 * Rewrites an accepted spelling to the one form `Date` parses the same on every engine,
 * `YYYY-MM-DDTHH:MM:SS.sss±HH:MM`: no offset means UTC, `±hh` and `±hhmm` gain their minutes, the fraction is cut to
 * milliseconds. None for a day the calendar does not have.
 */
export const canonicalIsoTime = (raw: string): Option.Option<string> => {
  const m = ISO_SPELLING.exec(raw)
  if (m === null) return Option.none()
  const [, y, mo, d, hh = "00", mi = "00", ss = "00", frac = "", offset = "Z"] = m
  const month = Number(mo)
  if (month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth(Number(y), month)) return Option.none()
  const zone =
    offset.toUpperCase() === "Z"
      ? "Z"
      : offset.length === 3
        ? `${offset}:00`
        : `${offset.slice(0, 3)}:${offset.slice(-2)}`
  return Option.some(`${y}-${mo}-${d}T${hh}:${mi}:${ss}.${frac.padEnd(3, "0").slice(0, 3)}${zone}`)
}

const EpochMillisTime = Schema.String.pipe(
  Schema.pattern(/^\d{1,15}$/),
  Schema.compose(Schema.NumberFromString),
  Schema.compose(Schema.DateFromNumber)
)

const IsoTime = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (raw, _, ast) =>
    Option.match(canonicalIsoTime(raw), {
      onNone: () => ParseResult.fail(new ParseResult.Type(ast, raw, "must be an ISO 8601 date-time")),
      onSome: ParseResult.succeed
    }),
  encode: ParseResult.succeed
}).pipe(Schema.compose(Schema.Date))

/** A time filter: epoch milliseconds or ISO 8601 (docs/api.md#times). */
export const TimeFromString = Schema.Union(EpochMillisTime, IsoTime)

export const parseTime = Schema.decodeOption(TimeFromString)

export const Time = (description: string) =>
  param(
    Schema.DateFromSelf,
    "must be epoch milliseconds or an ISO 8601 date-time",
    parseTime,
    d => d.toISOString(),
    description
  )

export const Sort = param<"recent" | "name", "recent" | "name">(
  Schema.Literal("recent", "name"),
  "must be one of recent, name",
  raw => (raw === "recent" || raw === "name" ? Option.some(raw) : Option.none()),
  s => s,
  "recent: last_modified_time descending (default); name: case-insensitive name ascending"
)

const commaList = (raw: string): Array<string> => [...new Set(raw.split(",").map(s => s.trim()))]

export const ChatTypes = param(
  Schema.Array(ChatType),
  `must be a comma-separated list of ${CHAT_TYPES.join(", ")}`,
  raw => (raw.length <= 200 ? Schema.decodeUnknownOption(Schema.Array(ChatType))(commaList(raw)) : Option.none()),
  ts => ts.join(","),
  "Chat types, comma-separated"
)

export const EventTypes = param(
  Schema.Array(Schema.String),
  `must be a comma-separated list of at most ${MAX_EVENT_TYPES} event types of 1 to ${MAX_EVENT_TYPE_LENGTH} characters`,
  raw => {
    const items = commaList(raw)
    return items.length <= MAX_EVENT_TYPES && items.every(t => t.length >= 1 && t.length <= MAX_EVENT_TYPE_LENGTH)
      ? Option.some(items)
      : Option.none()
  },
  ts => ts.join(","),
  "Event types, comma-separated"
)

export const ListChatsParams = Schema.Struct({
  chat_type: Schema.optional(ChatTypes),
  pinned: Schema.optional(BooleanParam("Only pinned (true) or unpinned (false) chats")),
  muted: Schema.optional(BooleanParam("Only muted or unmuted chats")),
  removed: Schema.optional(BooleanParam("Only removed or present chats")),
  closed: Schema.optional(BooleanParam("Only closed or open chats")),
  unread: Schema.optional(BooleanParam("Only chats with (true) or without (false) unread messages")),
  q: Schema.optional(text(0, MAX_Q_LENGTH, "Case-insensitive substring of the name")),
  modified_after: Schema.optional(Time("last_modified_time strictly after")),
  modified_before: Schema.optional(Time("last_modified_time strictly before")),
  sort: Schema.optional(Sort),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(text(1, MAX_CURSOR_LENGTH, "Opaque cursor from next_cursor")),
  account_id: Schema.optional(Id("Only this account's chats"))
})
export type ListChatsParams = typeof ListChatsParams.Type

export const ChatPath = Schema.Struct({ chat_id: Id("Upstream chat id") })

export const ChatLookupParams = Schema.Struct({
  account_id: Schema.optional(Id("Account holding the chat; without it the lowest account id holding it is used"))
})

export const EventsParams = Schema.Struct({
  after: Schema.optional(
    integer(0, Number.MAX_SAFE_INTEGER, "must be an integer ≥ 0", "Return events with seq greater than this, default 0")
  ),
  limit: Schema.optional(Limit),
  chat_id: Schema.optional(Id("Only events of this chat")),
  type: Schema.optional(EventTypes)
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const CommandPath = Schema.Struct({
  command_id: param(
    Schema.String,
    "must be a UUID",
    raw => (UUID.test(raw) ? Option.some(raw.toLowerCase()) : Option.none()),
    s => s,
    "Command id, as returned at intake"
  )
})

const literalList = <A extends string>(
  to: Schema.Schema<ReadonlyArray<A>>,
  values: ReadonlyArray<A>,
  what: string,
  description: string
) =>
  param(
    to,
    `must be a comma-separated list of ${values.join(", ")}`,
    raw => (raw.length <= 500 ? Schema.decodeUnknownOption(to)(commaList(raw)) : Option.none()),
    ts => ts.join(","),
    `${description}; ${what}, comma-separated`
  )

export const ListCommandsParams = Schema.Struct({
  status: Schema.optional(
    literalList<CommandStatus>(
      Schema.Array(Schema.Literal(...COMMAND_STATUSES)),
      COMMAND_STATUSES,
      "statuses",
      "Only commands in these statuses"
    )
  ),
  type: Schema.optional(
    literalList<CommandType>(
      Schema.Array(Schema.Literal(...(COMMAND_TYPES as [CommandType, ...Array<CommandType>]))),
      COMMAND_TYPES,
      "command types",
      "Only commands of these types"
    )
  ),
  account_id: Schema.optional(Id("Only this account's commands")),
  batch_id: Schema.optional(
    param(
      Schema.String,
      "must be a UUID",
      raw => (UUID.test(raw) ? Option.some(raw.toLowerCase()) : Option.none()),
      s => s,
      "Only the commands of this batch (POST /v1/bulk)"
    )
  ),
  chat_id: Schema.optional(Id("Only commands on this chat (clear_unread: its first chat)")),
  created_after: Schema.optional(Time("Taken in strictly after")),
  created_before: Schema.optional(Time("Taken in strictly before")),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(text(1, MAX_CURSOR_LENGTH, "Opaque cursor from next_cursor"))
})
export type ListCommandsParams = typeof ListCommandsParams.Type
