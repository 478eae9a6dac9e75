import { decimal } from "./Decimal.js"

export type SimChatType =
  | "channel"
  | "bot"
  | "entity_chat"
  | "direct_message"
  | "group_chat"
  | "crossproduct_custom_chat"
  | "thread"

export interface Person {
  readonly id: string
  readonly name: string
  readonly nameLower: string
  readonly email: string
  readonly active: boolean
  readonly guest: boolean
}

/** A seeded user who can call the API (holds tokens); index = position in `--tokens`. */
export interface Account {
  readonly index: number
  readonly person: Person
  /** Fixed UTC offset of the user's time zone, in minutes. */
  readonly offsetMinutes: number
}

/** Messages are immutable; the `<ms>_<digits>` id is built on demand (hundreds of thousands of seeded id strings
 * would dominate seeding time). */
export class Message {
  constructor(
    readonly timeMs: number,
    readonly suffix: number,
    readonly senderId: string,
    readonly text: string
  ) {}

  get id(): string {
    return `${decimal(this.timeMs)}_${decimal(this.suffix)}`
  }

  hasId(id: string): boolean {
    const at = id.indexOf("_")
    return at > 0 && Number(id.slice(0, at)) === this.timeMs && Number(id.slice(at + 1)) === this.suffix
  }
}

/** What one account sees of a chat; everything here is per user. */
export interface UserView {
  pinned: boolean
  muted: boolean
  closed: boolean
  joined: boolean
  removed: boolean
  draft: string | undefined
  unreadCount: number
  unreadFromMs: number | undefined
  clearedAtMs: number | undefined
  usage: number
}

export interface Chat {
  readonly id: string
  readonly type: SimChatType
  title: string
  titleLower: string
  readonly createdMs: number
  readonly creatorId: string
  /** Join order; an array rather than a Set because 100k seeded chats must stay small (seeding time is GC time). */
  participants: Array<string>
  messages: Array<Message>
  lastMessageMs: number | undefined
  lastModifiedMs: number
  previousTitles: Array<string>
  historyEnabled: boolean
  readonly parentChatId: string | undefined
  readonly threadMessageId: string | undefined
  hasGuests: boolean
  /** Indexed by account index. */
  readonly views: Array<UserView | undefined>
  /** Keys under which the chat currently sits in the two sorted indexes. */
  listKey: number
  searchKey: number
}

export const newView = (overrides: Partial<UserView> = {}): UserView => ({
  pinned: false,
  muted: false,
  closed: false,
  joined: false,
  removed: false,
  draft: undefined,
  unreadCount: 0,
  unreadFromMs: undefined,
  clearedAtMs: undefined,
  usage: 0,
  ...overrides
})

/** GET /chats filters on the last message time; chats without messages use their creation time (docs/upstream.md#sim-filter-key). */
export const listKeyOf = (chat: Chat): number => chat.lastMessageMs ?? chat.createdMs
