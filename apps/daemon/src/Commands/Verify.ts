import {
  type Account,
  type AccountClient,
  ChatId,
  type CliqError,
  type Denied,
  type OperationId,
  observedFields,
  type RateBudgetError
} from "@cliq-mirror/core"
import type { CommandRecord, Settlement } from "@cliq-mirror/db"
import { Data, type Duration, Effect, Option } from "effect"
import { Upstream } from "../Upstream.js"
import { leftChat } from "./Send.js"

/** How far before intake a created chat may be stamped and still count as ours (clock skew upstream). */
const CREATED_SLACK_MS = 60_000

/** The read's bucket has no slot within the job's bounded wait. */
export class ReadRefused extends Data.TaggedError("ReadRefused")<{ readonly denied: Denied }> {}

const done = (command: CommandRecord, result: Record<string, unknown>, extra: Omit<Settlement, "outcomes"> = {}) =>
  Option.some<Settlement>({
    outcomes: [{ command, status: "succeeded", result: { ...result, verified: true } }],
    ...extra
  })

/**
 * After an attempt whose outcome is unknown (timeout or reset after sending, a worker that died mid-call), a
 * non-idempotent command is not simply sent again: the upstream state is read first. `Some` = the effect is already
 * there (the command succeeded); `None` = it is not, sending is safe. A read that fails fails this effect.
 */
export const verifyEffect = (
  account: Account,
  command: CommandRecord,
  maxWait: Duration.DurationInput
): Effect.Effect<Option.Option<Settlement>, CliqError | RateBudgetError | ReadRefused, Upstream> =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const read = <A>(
      operation: OperationId,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError | RateBudgetError | ReadRefused> =>
      upstream.budget
        .acquireWithin(upstream.target(account, operation), maxWait)
        .pipe(
          Effect.flatMap(
            (decision): Effect.Effect<A, CliqError | ReadRefused> =>
              decision._tag === "Granted"
                ? upstream.send(account, operation, decision, run)
                : Effect.fail(new ReadRefused({ denied: decision }))
          )
        )
    const findCreated = (title: string) =>
      Effect.gen(function* () {
        const since = command.createdAt.getTime() - CREATED_SLACK_MS
        const page = yield* read("searchChats", c =>
          c.searchChats({ title: title.slice(0, 200), modified_after: since, limit: 500 })
        )
        for (const item of page.items) {
          if (!("chat" in item)) continue
          const chat = item.chat
          if (chat.name === title && (chat.created_time ?? 0) >= since) {
            return done(
              command,
              { chat_id: chat.chat_id },
              { observed: [{ raw: item.raw, chat: observedFields(chat, item.raw) }] }
            )
          }
        }
        return Option.none<Settlement>()
      })
    const members = (chatId: string, userIds: ReadonlyArray<string>, wanted: "present" | "absent") =>
      Effect.gen(function* () {
        const list = yield* read("listMembers", c => c.listMembers(ChatId.make(chatId)))
        const present = new Set<string>(list.map(m => m.user_id))
        const effective = userIds.every(id => present.has(id) === (wanted === "present"))
        return effective ? done(command, {}) : Option.none<Settlement>()
      })
    switch (command.type) {
      case "create_chat":
        // A direct message is returned as it is when it exists: sending again is safe.
        return command.params.chat_type === "direct_message" ? Option.none() : yield* findCreated(command.params.title)
      case "fork_chat":
        return yield* findCreated(command.params.title)
      case "add_members":
        return yield* members(command.params.chat_id, command.params.user_ids, "present")
      case "remove_members":
        return yield* members(command.params.chat_id, command.params.user_ids, "absent")
      case "leave_chat": {
        const chatId = command.params.chat_id
        const left = yield* read("getChat", c => c.getChat(ChatId.make(chatId))).pipe(
          Effect.map(found => found.chat.removed === true),
          Effect.catchTag("CliqPermanent", e =>
            e.code === "chat_access_denied" ? Effect.succeed(true) : Effect.fail(e)
          )
        )
        return left ? done(command, {}, { derive: [leftChat(chatId)] }) : Option.none()
      }
      default:
        return Option.none()
    }
  })
