import type { OAuthScope } from "@cliq-mirror/core"
import type { SimChatType } from "./Model.js"

/** A control call that cannot be carried out; the control API answers it with `status`. */
export class SimulatorControlError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 = 400
  ) {
    super(message)
    this.name = "SimulatorControlError"
  }
}

export interface AccountTruth {
  readonly userIndex: number
  readonly userId: string
  readonly name: string
  readonly email: string
  readonly offsetMinutes: number
  readonly token: string
}

export interface PersonTruth {
  readonly userId: string
  readonly name: string
  readonly email: string
  readonly active: boolean
  readonly guest: boolean
  readonly account: boolean
}

export interface PostMessageInput {
  /** Defaults to a participant who is not a seeded account (so accounts get unread messages). */
  readonly senderId?: string
  readonly text?: string
  /** Message time; clamped so a chat's messages never go back in time. Default: now. */
  readonly atMs?: number
}

export interface PostMessagesInput extends PostMessageInput {
  readonly chatIds: ReadonlyArray<string>
}

export interface UserStateInput {
  readonly userIndex: number
  readonly pinned?: boolean
  readonly muted?: boolean
  readonly closed?: boolean
  readonly joined?: boolean
  readonly draft?: string | null
}

export interface CreateChatInput {
  readonly chatType: SimChatType
  readonly title?: string
  readonly participantIds: ReadonlyArray<string>
  readonly creatorId?: string
  readonly parentChatId?: string
  readonly threadMessageId?: string
  /** Post a first message right away (a string is its text). */
  readonly withMessage?: boolean | string
}

export interface IssuedToken {
  readonly accessToken: string
  readonly userIndex: number
  readonly scopes: ReadonlyArray<OAuthScope>
  readonly expiresAtMs: number | null
}
