import { createHash } from "node:crypto"
import type { CommandFilters, CommandSortKey } from "@cliq-mirror/db/CommandsQuery"
import { Either, Schema } from "effect"
import { InvalidParameter } from "./Errors.js"

/**
 * The opaque `next_cursor` of GET /v1/commands: base64url JSON of the last row's (created_at to the microsecond, id)
 * and a fingerprint of the filters, so that a cursor replayed with other filters is refused.
 */
const CursorJson = Schema.parseJson(
  Schema.Struct({
    v: Schema.Literal(1),
    f: Schema.String,
    k: Schema.Tuple(
      Schema.String.pipe(Schema.pattern(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)),
      Schema.String.pipe(Schema.pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/))
    )
  })
)
const decodeJson = Schema.decodeUnknownEither(CursorJson)

export const commandFiltersFingerprint = (filters: CommandFilters): string => {
  const canonical = [
    filters.accountId ?? null,
    filters.statuses === undefined ? null : [...filters.statuses].sort(),
    filters.types === undefined ? null : [...filters.types].sort(),
    filters.batchId ?? null,
    filters.chatId ?? null,
    filters.createdAfter?.toISOString() ?? null,
    filters.createdBefore?.toISOString() ?? null
  ]
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url").slice(0, 16)
}

export const encodeCommandCursor = (key: CommandSortKey, fingerprint: string): string =>
  Buffer.from(JSON.stringify({ v: 1, f: fingerprint, k: [key.createdAt, key.id] })).toString("base64url")

export const decodeCommandCursor = (
  cursor: string,
  fingerprint: string
): Either.Either<CommandSortKey, InvalidParameter> => {
  const malformed = InvalidParameter.of("cursor", "malformed cursor; pass next_cursor back unchanged")
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return Either.left(malformed)
  const decoded = decodeJson(Buffer.from(cursor, "base64url").toString("utf8"))
  if (Either.isLeft(decoded)) return Either.left(malformed)
  const { f, k } = decoded.right
  if (f !== fingerprint) {
    return Either.left(InvalidParameter.of("cursor", "foreign cursor: it was issued for other filters"))
  }
  return Either.right({ createdAt: k[0], id: k[1] })
}
