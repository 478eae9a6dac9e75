import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Clock, Context, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { type Account, type AccountId, credentialsFingerprint } from "../Accounts/Account.js"
import { refreshTokenProvider, staticTokenProvider, type TokenProvider, tokenPolicy } from "./Auth/TokenProvider.js"
import { TokenStore } from "./Auth/TokenStore.js"
import { ChatDto } from "./ChatDto.js"
import { classifyResponse } from "./Classify.js"
import {
  ChatList,
  type Member,
  MembersAddedResponse,
  MembersRemovedResponse,
  MembersResponse,
  ReadStatusResponse,
  TitleResponse
} from "./Envelopes.js"
import { type CliqAuthError, CliqDecodeError, type CliqError, CliqInvalidRequest } from "./Errors.js"
import type { ChatId, MessageId, UserId } from "./Ids.js"
import { OPERATION_BY_ID, OPERATIONS, type Operation, type OperationId, operationPath } from "./Operations.js"
import { decodeFailure, firstIssue } from "./ParseIssue.js"
import { redactSample } from "./Redact.js"
import {
  AddMembersRequest,
  BulkClearUnreadRequest,
  BulkReadStatusRequest,
  ClearLocalHistoryRequest,
  CloseChatRequest,
  CreateChatRequest,
  ForkChatRequest,
  Limits,
  type ListChatsParams,
  MarkAsReadRequest,
  MarkAsUnreadRequest,
  type SearchChatsParams,
  type TypingAction,
  TypingActivityRequest,
  UpdateHistoryStatusRequest,
  UpdateTitleRequest
} from "./Requests.js"
import { classifyTransport, timedOut } from "./Transport.js"

export interface CliqClientOptions {
  /** Whole exchange, answer body included (default 30 s). */
  readonly requestTimeout: Duration.DurationInput
  /** Shrinks the token refresh margin, mint window and refresh interval (tests and the demo). */
  readonly timeScale: number
}

export class CliqClientConfig extends Context.Tag("@cliq-mirror/core/CliqClientConfig")<
  CliqClientConfig,
  CliqClientOptions
>() {
  static readonly layer = (options: Partial<CliqClientOptions> = {}) =>
    Layer.succeed(CliqClientConfig, { requestTimeout: Duration.seconds(30), timeScale: 1, ...options })
  static readonly Default = CliqClientConfig.layer()
}

/** A chat as decoded, beside the JSON it came from (the mirror keeps unknown fields). */
export interface ChatResult {
  readonly raw: unknown
  readonly chat: ChatDto
}
export interface InvalidChat {
  readonly raw: unknown
  readonly error: { readonly path: string; readonly message: string }
}
export type ChatItem = ChatResult | InvalidChat
/** One list or search page; a malformed item is reported in place and the others stay usable. */
export interface ChatPage {
  readonly items: ReadonlyArray<ChatItem>
}
export const isChatResult = (item: ChatItem): item is ChatResult => "chat" in item

export type TypingActionValue = typeof TypingAction.Type
export type MemberField = "user_id" | "email_id" | "name"

type Run<A> = Effect.Effect<A, CliqError>

export interface ForAccountOptions {
  /**
   * Runs before every upstream request, the single retry after a 401 included, e.g. to wait for rate budget. It
   * cannot fail: to refuse a call, wrap the method instead.
   */
  readonly beforeSend?: (operation: Operation) => Effect.Effect<void>
}

/** One method per upstream operation (named by its OperationId), bound to one account. No retries inside. */
export interface AccountClient {
  readonly account: Account
  readonly needsReauth: Effect.Effect<Option.Option<{ readonly reason: string; readonly since: number }>, CliqAuthError>
  readonly listChats: (params?: ListChatsParams) => Run<ChatPage>
  readonly searchChats: (params?: SearchChatsParams) => Run<ChatPage>
  readonly getChat: (
    chatId: ChatId,
    options?: { readonly include?: "last_message_info"; readonly fields?: ReadonlyArray<string> }
  ) => Run<ChatResult>
  readonly createChat: (request: CreateChatRequest) => Run<ChatResult>
  readonly bulkReadStatusUpdate: (
    chats: ReadonlyArray<{ readonly chat_id: ChatId; readonly last_message_id: MessageId }>
  ) => Run<ReadStatusResponse["data"]>
  readonly bulkClearUnread: (chatIds: ReadonlyArray<ChatId>) => Run<void>
  readonly updateTitle: (chatId: ChatId, title: string) => Run<typeof TitleResponse.Type.data>
  readonly updateHistoryStatus: (chatId: ChatId, historyStatus: "enabled" | "disabled") => Run<void>
  readonly markAsRead: (chatId: ChatId, lastMessageId: MessageId) => Run<void>
  readonly markAsUnread: (chatId: ChatId, messageId: MessageId) => Run<void>
  readonly clearLocalHistory: (chatId: ChatId) => Run<void>
  readonly closeChat: (chatId: ChatId) => Run<void>
  readonly listMembers: (
    chatId: ChatId,
    options?: { readonly fields?: ReadonlyArray<MemberField> }
  ) => Run<ReadonlyArray<Member>>
  readonly addMembers: (chatId: ChatId, userIds: ReadonlyArray<UserId>) => Run<typeof MembersAddedResponse.Type.data>
  readonly removeMembers: (
    chatId: ChatId,
    userIds: ReadonlyArray<UserId>
  ) => Run<typeof MembersRemovedResponse.Type.data>
  readonly forkChat: (
    chatId: ChatId,
    request: {
      readonly message_id: MessageId
      readonly title: string
      readonly user_ids?: ReadonlyArray<UserId>
      readonly include_participants?: boolean
    }
  ) => Run<ChatResult>
  readonly sendTyping: (chatId: ChatId, action: TypingActionValue) => Run<void>
  readonly leaveChat: (chatId: ChatId) => Run<void>
  readonly muteChat: (chatId: ChatId) => Run<void>
  readonly unmuteChat: (chatId: ChatId) => Run<void>
}

// Compile-time guard: every operation of the table has its method.
OPERATIONS.map(o => o.id) satisfies ReadonlyArray<keyof AccountClient>

/** The operation (method, path, bucket, scopes, idempotency) behind an AccountClient method. */
export const operationOf = (method: OperationId): Operation => OPERATION_BY_ID[method]

interface Call {
  readonly operation: OperationId
  readonly chatId?: string
  readonly query?: Record<string, string | number | boolean | undefined>
  readonly body?: unknown
}
interface Answer {
  readonly status: number
  readonly body: string
}

const invalid = (operation: OperationId, path: string, message: string) =>
  new CliqInvalidRequest({ operation, path, message: `${operation}: ${path === "" ? "" : `${path} `}${message}` })

const encode = <A, I>(
  schema: Schema.Schema<A, I>,
  operation: OperationId,
  value: NoInfer<A>
): Effect.Effect<I, CliqError> =>
  Schema.encode(schema)(value).pipe(
    Effect.mapError(e => {
      const issue = firstIssue(e)
      return invalid(operation, issue.path, issue.message)
    })
  )

const epochMs = (value: number | undefined) => (value === undefined ? undefined : Math.trunc(value))

const checkLimit = (operation: OperationId, limit: number | undefined, max: number) =>
  limit === undefined || (Number.isInteger(limit) && limit >= 1 && limit <= max)
    ? Effect.void
    : Effect.fail(invalid(operation, "limit", `must be an integer from 1 to ${max}`))

const parseJson = (operation: OperationId, answer: Answer): Effect.Effect<unknown, CliqDecodeError> =>
  Effect.try({
    try: () => JSON.parse(answer.body) as unknown,
    catch: () =>
      new CliqDecodeError({
        operation,
        status: answer.status,
        path: "",
        sample: redactSample(answer.body),
        message: `${operation}: response body is not JSON`
      })
  })

const decodeAs =
  <A, I>(schema: Schema.Schema<A, I>, operation: OperationId) =>
  (answer: Answer): Effect.Effect<A, CliqDecodeError> =>
    Effect.flatMap(parseJson(operation, answer), json =>
      Schema.decodeUnknown(schema)(json).pipe(Effect.mapError(e => decodeFailure(operation, answer.status, json, e)))
    )

const toItem = (raw: unknown): ChatItem =>
  Either.match(Schema.decodeUnknownEither(ChatDto)(raw), {
    onLeft: e => ({ raw, error: firstIssue(e) }),
    onRight: chat => ({ raw, chat })
  })

const decodePage = (operation: OperationId) => (answer: Answer) =>
  Effect.map(decodeAs(ChatList, operation)(answer), list => ({ items: list.chats.map(toItem) }))

const RawChatEnvelope = Schema.Struct({ data: Schema.Unknown })

const decodeChat = (operation: OperationId) => (answer: Answer) =>
  Effect.flatMap(decodeAs(RawChatEnvelope, operation)(answer), ({ data }) =>
    Schema.decodeUnknown(ChatDto)(data).pipe(
      Effect.map((chat): ChatResult => ({ raw: data, chat })),
      Effect.mapError(e => decodeFailure(operation, answer.status, { data }, e, ["data"]))
    )
  )

export class CliqClient extends Effect.Service<CliqClient>()("@cliq-mirror/core/CliqClient", {
  scoped: Effect.gen(function* () {
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const config = yield* CliqClientConfig
    const store = yield* TokenStore
    const scope = yield* Effect.scope
    const timeoutMs = Duration.toMillis(config.requestTimeout)
    const policy = tokenPolicy(config.timeScale, config.requestTimeout)
    const providers = new Map<AccountId, { readonly key: string; readonly tokens: TokenProvider }>()

    // One provider per account and credentials, so that every client of the account shares its refreshes.
    const tokensFor = (account: Account): TokenProvider => {
      const key = `${credentialsFingerprint(account.auth)}\n${account.accountsUrl}`
      const known = providers.get(account.id)
      if (known !== undefined && known.key === key) return known.tokens
      const tokens =
        account.auth._tag === "Static"
          ? staticTokenProvider(account.auth.token)
          : refreshTokenProvider({ account, auth: account.auth, http, store, policy, scope })
      providers.set(account.id, { key, tokens })
      return tokens
    }

    const forAccount = (account: Account, options: ForAccountOptions = {}): AccountClient => {
      const tokens = tokensFor(account)
      const beforeSend = options.beforeSend ?? (() => Effect.void)

      const attempt = (call: Call, token: Redacted.Redacted<string>): Effect.Effect<Answer, CliqError> => {
        const operation = OPERATION_BY_ID[call.operation]
        const request = HttpClientRequest.make(operation.method)(
          `${account.baseUrl}${operationPath(operation, call.chatId)}`
        ).pipe(
          HttpClientRequest.setUrlParams(call.query ?? {}),
          HttpClientRequest.setHeader("authorization", `${account.authScheme} ${Redacted.value(token)}`),
          HttpClientRequest.acceptJson,
          call.body === undefined ? r => r : HttpClientRequest.bodyUnsafeJson(call.body)
        )
        const exchange = http.execute(request).pipe(
          // The body is always read in full, so the kept-alive connection can serve the next request.
          Effect.flatMap(response =>
            Effect.map(response.text, body => ({
              status: response.status,
              body,
              retryAfter: response.headers["retry-after"]
            }))
          ),
          Effect.mapError(e =>
            e._tag === "RequestError" && e.reason !== "Transport"
              ? invalid(call.operation, "", `could not be sent (${e.reason})`)
              : classifyTransport(call.operation, e.cause)
          ),
          Effect.timeoutFail({ duration: config.requestTimeout, onTimeout: () => timedOut(call.operation, timeoutMs) })
        )
        return Effect.zipRight(beforeSend(operation), exchange).pipe(
          Effect.flatMap(answer =>
            answer.status >= 200 && answer.status < 300
              ? Effect.succeed(answer)
              : Effect.flatMap(Clock.currentTimeMillis, now =>
                  Effect.fail(classifyResponse(call.operation, answer, now))
                )
          )
        )
      }

      // A 401 gets one token renewal and one retry; a second 401 is final.
      const send = (call: Call): Effect.Effect<Answer, CliqError> =>
        Effect.flatMap(tokens.current, token =>
          attempt(call, token).pipe(
            Effect.catchTag("CliqUnauthorized", unauthorized =>
              Effect.flatMap(
                tokens.renew(token),
                Option.match({ onNone: () => Effect.fail(unauthorized), onSome: fresh => attempt(call, fresh) })
              )
            )
          )
        )

      const chatPath = (operation: OperationId, chatId: string) =>
        chatId === "" ? Effect.fail(invalid(operation, "chat_id", "must not be empty")) : Effect.succeed(chatId)

      const put = <A, I>(operation: OperationId, schema: Schema.Schema<A, I>, chatId: ChatId, body: NoInfer<A>) =>
        Effect.gen(function* () {
          yield* chatPath(operation, chatId)
          yield* send({ operation, chatId, body: yield* encode(schema, operation, body) })
        })

      const post = (operation: OperationId, chatId: ChatId) =>
        Effect.flatMap(chatPath(operation, chatId), () => Effect.asVoid(send({ operation, chatId })))

      return {
        account,
        needsReauth: tokens.needsReauth,
        listChats: Effect.fn("CliqClient.listChats")(function* (params: ListChatsParams = {}) {
          yield* checkLimit("listChats", params.limit, Limits.listLimitMax)
          const query = {
            ...params,
            chat_ids: params.chat_ids?.join(","),
            modified_after: epochMs(params.modified_after),
            modified_before: epochMs(params.modified_before)
          }
          return yield* send({ operation: "listChats", query }).pipe(Effect.flatMap(decodePage("listChats")))
        }),
        searchChats: Effect.fn("CliqClient.searchChats")(function* (params: SearchChatsParams = {}) {
          yield* checkLimit("searchChats", params.limit, Limits.searchLimitMax)
          const query = {
            ...params,
            chat_type: params.chat_type?.join(","),
            // Search also takes ISO; ms keeps both list and search on one representation (docs/upstream.md#pick-time-filters).
            modified_after: epochMs(params.modified_after),
            modified_before: epochMs(params.modified_before)
          }
          return yield* send({ operation: "searchChats", query }).pipe(Effect.flatMap(decodePage("searchChats")))
        }),
        getChat: Effect.fn("CliqClient.getChat")(function* (chatId, options = {}) {
          yield* chatPath("getChat", chatId)
          if ((options.fields?.length ?? 0) > Limits.getFieldsMax) {
            return yield* invalid("getChat", "fields", `must name at most ${Limits.getFieldsMax} fields`)
          }
          const query = { include: options.include, fields: options.fields?.join(",") }
          return yield* send({ operation: "getChat", chatId, query }).pipe(Effect.flatMap(decodeChat("getChat")))
        }),
        createChat: Effect.fn("CliqClient.createChat")(function* (request) {
          const body = yield* encode(CreateChatRequest, "createChat", request)
          // Decoded like get/fork; `pinned`/`removed` arrive nested in `user_membership` here (membershipOf).
          return yield* send({ operation: "createChat", body }).pipe(Effect.flatMap(decodeChat("createChat")))
        }),
        bulkReadStatusUpdate: Effect.fn("CliqClient.bulkReadStatusUpdate")(function* (chats) {
          const body = yield* encode(BulkReadStatusRequest, "bulkReadStatusUpdate", {
            operation: "read_status_update",
            read_status: "read",
            chats
          })
          const answer = yield* send({ operation: "bulkReadStatusUpdate", body })
          return (yield* decodeAs(ReadStatusResponse, "bulkReadStatusUpdate")(answer)).data
        }),
        bulkClearUnread: Effect.fn("CliqClient.bulkClearUnread")(function* (chatIds) {
          const body = yield* encode(BulkClearUnreadRequest, "bulkClearUnread", {
            operation: "clear_unread",
            chat_ids: chatIds
          })
          yield* send({ operation: "bulkClearUnread", body })
        }),
        updateTitle: Effect.fn("CliqClient.updateTitle")(function* (chatId, title) {
          yield* chatPath("updateTitle", chatId)
          const body = yield* encode(UpdateTitleRequest, "updateTitle", { operation: "update_title", title })
          const answer = yield* send({ operation: "updateTitle", chatId, body })
          return (yield* decodeAs(TitleResponse, "updateTitle")(answer)).data
        }),
        updateHistoryStatus: Effect.fn("CliqClient.updateHistoryStatus")((chatId, history_status) =>
          put("updateHistoryStatus", UpdateHistoryStatusRequest, chatId, {
            operation: "update_history_status",
            history_status
          })
        ),
        markAsRead: Effect.fn("CliqClient.markAsRead")((chatId, last_message_id) =>
          put("markAsRead", MarkAsReadRequest, chatId, { operation: "mark_as_read", last_message_id })
        ),
        markAsUnread: Effect.fn("CliqClient.markAsUnread")((chatId, message_id) =>
          put("markAsUnread", MarkAsUnreadRequest, chatId, { operation: "mark_as_unread", message_id })
        ),
        clearLocalHistory: Effect.fn("CliqClient.clearLocalHistory")(chatId =>
          put("clearLocalHistory", ClearLocalHistoryRequest, chatId, { operation: "clear_local_history" })
        ),
        closeChat: Effect.fn("CliqClient.closeChat")(chatId =>
          put("closeChat", CloseChatRequest, chatId, { operation: "close_chat" })
        ),
        listMembers: Effect.fn("CliqClient.listMembers")(function* (chatId, options = {}) {
          yield* chatPath("listMembers", chatId)
          const query = { fields: options.fields?.join(",") }
          const answer = yield* send({ operation: "listMembers", chatId, query })
          return (yield* decodeAs(MembersResponse, "listMembers")(answer)).members
        }),
        addMembers: Effect.fn("CliqClient.addMembers")(function* (chatId, user_ids) {
          yield* chatPath("addMembers", chatId)
          const body = yield* encode(AddMembersRequest, "addMembers", { user_ids })
          const answer = yield* send({ operation: "addMembers", chatId, body })
          return (yield* decodeAs(MembersAddedResponse, "addMembers")(answer)).data
        }),
        removeMembers: Effect.fn("CliqClient.removeMembers")(function* (chatId, user_ids) {
          yield* chatPath("removeMembers", chatId)
          // No published cap for the query; add-members' 1–100 is the conservative stand-in.
          const { user_ids: ids } = yield* encode(AddMembersRequest, "removeMembers", { user_ids })
          const answer = yield* send({ operation: "removeMembers", chatId, query: { user_ids: ids.join(",") } })
          return (yield* decodeAs(MembersRemovedResponse, "removeMembers")(answer)).data
        }),
        forkChat: Effect.fn("CliqClient.forkChat")(function* (chatId, request) {
          yield* chatPath("forkChat", chatId)
          const body = yield* encode(ForkChatRequest, "forkChat", {
            message_id: request.message_id,
            title: request.title,
            ...(request.user_ids === undefined ? {} : { user_ids: request.user_ids.join(",") }),
            ...(request.include_participants === undefined
              ? {}
              : { include_participants: request.include_participants })
          })
          return yield* send({ operation: "forkChat", chatId, body }).pipe(Effect.flatMap(decodeChat("forkChat")))
        }),
        sendTyping: Effect.fn("CliqClient.sendTyping")(function* (chatId, action) {
          yield* chatPath("sendTyping", chatId)
          const body = yield* encode(TypingActivityRequest, "sendTyping", { action })
          yield* send({ operation: "sendTyping", chatId, body })
        }),
        leaveChat: Effect.fn("CliqClient.leaveChat")(chatId => post("leaveChat", chatId)),
        muteChat: Effect.fn("CliqClient.muteChat")(chatId => post("muteChat", chatId)),
        unmuteChat: Effect.fn("CliqClient.unmuteChat")(chatId => post("unmuteChat", chatId))
      }
    }

    return { forAccount } as const
  }),
  dependencies: [NodeHttpClient.layerUndici, CliqClientConfig.Default, TokenStore.Default]
}) {}
