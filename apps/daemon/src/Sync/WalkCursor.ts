import { Schema } from "effect"
import type { WalkState } from "./WindowWalk.js"

const Range = Schema.Tuple(Schema.Number, Schema.NullOr(Schema.Number))
const StoredWalk = Schema.Struct({
  pending: Schema.Array(Range),
  maxKey: Schema.NullOr(Schema.Number),
  boundaryIds: Schema.Array(Schema.String),
  pages: Schema.Number,
  items: Schema.Number,
  overflows: Schema.Number
})

/** A walk interrupted mid-way (crash, SIGTERM) is stored in the stream's cursor; anything unreadable starts afresh. */
export const readWalk = (cursor: Record<string, unknown>, field = "walk"): WalkState | undefined => {
  const decoded = Schema.decodeUnknownOption(StoredWalk)(cursor[field])
  return decoded._tag === "Some" && decoded.value.pending.length > 0 ? decoded.value : undefined
}
