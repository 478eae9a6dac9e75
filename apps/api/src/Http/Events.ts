import { EventsFeed } from "@cliq-mirror/db/EventsFeed"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api } from "../Api.js"
import { EventPage, toEventDto } from "../Dto/Event.js"
import { DEFAULT_LIMIT } from "../Params.js"

export const EventsLive = HttpApiBuilder.group(Api, "events", handlers =>
  Effect.gen(function* () {
    const feed = yield* EventsFeed
    return handlers.handle("listEvents", ({ urlParams }) =>
      feed
        .read({
          after: urlParams.after ?? 0,
          limit: urlParams.limit ?? DEFAULT_LIMIT,
          chatId: urlParams.chat_id,
          types: urlParams.type
        })
        .pipe(
          Effect.map(page => new EventPage({ data: page.rows.map(toEventDto), next_after: page.nextAfter })),
          Effect.catchTag("DbError", Effect.die)
        )
    )
  })
)
