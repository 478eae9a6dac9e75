import type { ChatStore } from "./ChatStore.js"
import type { Account } from "./Model.js"
import type { ResolvedOptions } from "./Options.js"
import type { Reply } from "./Replies.js"

/** One authenticated API call, as the operation handlers see it. */
export interface Call {
  readonly store: ChatStore
  readonly options: ResolvedOptions
  readonly account: Account
  readonly now: number
  readonly query: URLSearchParams
  /** Parsed JSON body; `undefined` when there was none. */
  readonly body: unknown
  /** Path parameter of `/chats/{chat_id}…`; empty for other paths. */
  readonly chatId: string
}

export type Handler = (call: Call) => Reply

export const bodyRecord = (body: unknown): Record<string, unknown> =>
  typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {}
