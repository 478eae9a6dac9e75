import type { Chat } from "./Model.js"

type KeyField = "listKey" | "searchKey"

const byId = (a: Chat, b: Chat): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** Newest first; equal keys by chat_id descending (docs/upstream.md#sim-order). Ids of one style have one length, so string order is numeric. */
const ORDER: Record<KeyField, (a: Chat, b: Chat) => number> = {
  listKey: (a, b) => b.listKey - a.listKey || byId(a, b),
  searchKey: (a, b) => b.searchKey - a.searchKey || byId(a, b)
}

/**
 * Chats kept sorted by one key with binary search, so a page is found without sorting the data set. The key a chat
 * is filed under is stored on the chat itself (`listKey` / `searchKey`) and changed only through `rekey`.
 */
export class SortedChats {
  private items: Array<Chat> = []

  private readonly order: (a: Chat, b: Chat) => number

  constructor(private readonly field: KeyField) {
    this.order = ORDER[field]
  }

  load(chats: ReadonlyArray<Chat>): void {
    this.items = [...chats].sort(this.order)
  }

  get size(): number {
    return this.items.length
  }

  keyOf(chat: Chat): number {
    return chat[this.field]
  }

  at(index: number): Chat | undefined {
    return this.items[index]
  }

  private position(chat: Chat): number {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.order(this.items[mid]!, chat) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(chat: Chat): void {
    this.items.splice(this.position(chat), 0, chat)
  }

  remove(chat: Chat): void {
    const at = this.position(chat)
    if (this.items[at] === chat) this.items.splice(at, 1)
  }

  rekey(chat: Chat, key: number): void {
    if (chat[this.field] === key) return
    this.remove(chat)
    chat[this.field] = key
    this.insert(chat)
  }

  /** Index of the first chat whose key is strictly below `bound` (exclusive upper bound, docs/upstream.md#sim-bounds). */
  firstBelow(bound: number): number {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.items[mid]![this.field] >= bound) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
