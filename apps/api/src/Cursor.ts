import { createHash } from "node:crypto"
import type { ChatFilters, ChatSort, ChatSortKey } from "@cliq-mirror/db/ChatsQuery"
import { Either, Schema } from "effect"
import { InvalidParameter } from "./Errors.js"

/**
 * The opaque `next_cursor`: base64url JSON holding the sort key of the last row returned, the sort, and a
 * fingerprint of the filters, so that a cursor replayed with other filters or another sort is refused instead of
 * silently returning a page of a different listing.
 */
const CursorJson = Schema.parseJson(
  Schema.Struct({
    v: Schema.Literal(1),
    s: Schema.Literal("recent", "name"),
    f: Schema.String,
    k: Schema.Tuple(Schema.NullOr(Schema.Union(Schema.Int, Schema.String)), Schema.String, Schema.String)
  })
)
const decodeJson = Schema.decodeUnknownEither(CursorJson)

export const filtersFingerprint = (filters: ChatFilters): string => {
  const canonical = [
    filters.accountId ?? null,
    filters.chatTypes === undefined ? null : [...filters.chatTypes].sort(),
    filters.pinned ?? null,
    filters.muted ?? null,
    filters.removed ?? null,
    filters.closed ?? null,
    filters.unread ?? null,
    filters.q ?? null,
    filters.modifiedAfter?.getTime() ?? null,
    filters.modifiedBefore?.getTime() ?? null
  ]
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url").slice(0, 16)
}

export const encodeCursor = (key: ChatSortKey, fingerprint: string): string => {
  const k =
    key.sort === "name"
      ? [key.name, key.chatId, key.accountId]
      : [key.lastModifiedTime?.getTime() ?? null, key.chatId, key.accountId]
  return Buffer.from(JSON.stringify({ v: 1, s: key.sort, f: fingerprint, k })).toString("base64url")
}

export const decodeCursor = (
  cursor: string,
  sort: ChatSort,
  fingerprint: string
): Either.Either<ChatSortKey, InvalidParameter> => {
  const malformed = InvalidParameter.of("cursor", "malformed cursor; pass next_cursor back unchanged")
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return Either.left(malformed)
  const decoded = decodeJson(Buffer.from(cursor, "base64url").toString("utf8"))
  if (Either.isLeft(decoded)) return Either.left(malformed)
  const { s, f, k } = decoded.right
  if (s !== sort || f !== fingerprint) {
    return Either.left(InvalidParameter.of("cursor", "foreign cursor: it was issued for other filters or another sort"))
  }
  const [first, chatId, accountId] = k
  if (s === "name") {
    return typeof first === "string"
      ? Either.right({ sort: s, name: first, chatId, accountId })
      : Either.left(malformed)
  }
  return typeof first === "string"
    ? Either.left(malformed)
    : Either.right({ sort: s, lastModifiedTime: first === null ? null : new Date(first), chatId, accountId })
}
