import type { EventRow } from "@cliq-mirror/db/EventsFeed"
import { Schema } from "effect"
import { iso } from "./Chat.js"

export class Event extends Schema.Class<Event>("Event")({
  seq: Schema.Int,
  event_id: Schema.String,
  type: Schema.String,
  account_id: Schema.String,
  chat_id: Schema.NullOr(Schema.String),
  occurred_at: Schema.NullOr(Schema.String),
  recorded_at: Schema.String,
  payload: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

export class EventPage extends Schema.Class<EventPage>("EventPage")({
  data: Schema.Array(Event),
  next_after: Schema.Int
}) {}

export const toEventDto = (row: EventRow): Event =>
  new Event({
    seq: row.seq,
    event_id: row.eventId,
    type: row.type,
    account_id: row.accountId,
    chat_id: row.chatId,
    occurred_at: iso(row.occurredAt),
    recorded_at: row.recordedAt.toISOString(),
    payload: row.payload
  })
