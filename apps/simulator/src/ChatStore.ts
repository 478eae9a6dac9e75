import type { IdFactory } from "./Ids.js"
import type { Account, Chat, Person, UserView } from "./Model.js"
import { listKeyOf, Message, newView } from "./Model.js"
import type { Random } from "./Random.js"
import { SortedChats } from "./SortedChats.js"

/** Messages kept per chat; older ones are forgotten (their ids stop being valid read markers). */
const MESSAGES_KEPT = 50

/**
 * The shared ground truth: chats, people and accounts, with both sorted indexes kept in step. Every change to a
 * filter key goes through this class.
 */
export class ChatStore {
  readonly chats = new Map<string, Chat>()
  readonly deleted = new Map<string, Chat>()
  readonly byListKey = new SortedChats("listKey")
  readonly bySearchKey = new SortedChats("searchKey")
  readonly people = new Map<string, Person>()
  readonly accountByUserId = new Map<string, Account>()
  private readonly directs = new Map<string, Chat>()

  constructor(
    readonly accounts: ReadonlyArray<Account>,
    people: ReadonlyArray<Person>,
    chats: ReadonlyArray<Chat>,
    readonly ids: IdFactory,
    readonly random: Random
  ) {
    for (const person of people) this.people.set(person.id, person)
    for (const account of accounts) this.accountByUserId.set(account.person.id, account)
    for (const chat of chats) {
      this.chats.set(chat.id, chat)
      this.indexDirect(chat)
    }
    this.byListKey.load(chats)
    this.bySearchKey.load(chats)
  }

  private directKey(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`
  }

  private indexDirect(chat: Chat): void {
    if (chat.type !== "direct_message") return
    const [a, b] = chat.participants
    if (a !== undefined && b !== undefined) this.directs.set(this.directKey(a, b), chat)
  }

  /** The live DM between two people, if any (DM creation is idempotent: docs/upstream.md#sim-dm-create). */
  findDirect(a: string, b: string): Chat | undefined {
    const chat = this.directs.get(this.directKey(a, b))
    return chat && this.chats.has(chat.id) ? chat : undefined
  }

  add(chat: Chat): void {
    this.chats.set(chat.id, chat)
    this.indexDirect(chat)
    chat.listKey = listKeyOf(chat)
    chat.searchKey = chat.lastModifiedMs
    this.byListKey.insert(chat)
    this.bySearchKey.insert(chat)
  }

  delete(chat: Chat): void {
    this.byListKey.remove(chat)
    this.bySearchKey.remove(chat)
    this.chats.delete(chat.id)
    this.deleted.set(chat.id, chat)
  }

  restore(chatId: string): Chat | undefined {
    const chat = this.deleted.get(chatId)
    if (!chat) return undefined
    this.deleted.delete(chatId)
    this.add(chat)
    return chat
  }

  /** Any change a participant could notice bumps last_modified_time only (docs/upstream.md#sim-filter-key). */
  touch(chat: Chat, now: number): void {
    const next = Math.max(chat.lastModifiedMs, now)
    chat.lastModifiedMs = next
    this.bySearchKey.rekey(chat, next)
  }

  appendMessage(chat: Chat, senderId: string, text: string, atMs: number): Message {
    const timeMs = Math.max(atMs, chat.lastMessageMs ?? chat.createdMs)
    const message = new Message(timeMs, this.ids.messageSuffix(), senderId, text)
    chat.messages.push(message)
    if (chat.messages.length > MESSAGES_KEPT) chat.messages.splice(0, chat.messages.length - MESSAGES_KEPT)
    chat.lastMessageMs = timeMs
    this.byListKey.rekey(chat, timeMs)
    this.touch(chat, timeMs)
    for (const account of this.accounts) {
      const view = chat.views[account.index]
      if (!view || view.removed) continue
      if (account.person.id === senderId) {
        view.unreadCount = 0
        view.unreadFromMs = undefined
        view.usage++
      } else {
        if (view.unreadCount === 0) view.unreadFromMs = timeMs
        view.unreadCount++
      }
      // docs/upstream.md#sim-visibility: a new message reopens a closed chat.
      view.closed = false
    }
    return message
  }

  rename(chat: Chat, title: string, now: number): void {
    if (chat.title !== "" && chat.title !== title) chat.previousTitles.push(chat.title)
    chat.title = title
    chat.titleLower = title.toLowerCase()
    this.touch(chat, now)
  }

  /** Returns whether the person was not a participant before. */
  addParticipant(chat: Chat, personId: string, now: number): boolean {
    if (chat.participants.includes(personId)) return false
    chat.participants.push(personId)
    if (this.people.get(personId)?.guest) chat.hasGuests = true
    const account = this.accountByUserId.get(personId)
    if (account) {
      const view = chat.views[account.index]
      if (view) {
        view.removed = false
        view.closed = false
      } else chat.views[account.index] = newView()
    }
    this.touch(chat, now)
    return true
  }

  /** Leaving also closes the chat for that user: it drops out of the default list and shows under `closed=true`. */
  removeParticipant(chat: Chat, personId: string, now: number): boolean {
    const at = chat.participants.indexOf(personId)
    if (at < 0) return false
    chat.participants.splice(at, 1)
    const account = this.accountByUserId.get(personId)
    const view = account ? chat.views[account.index] : undefined
    if (view) {
      view.removed = true
      view.closed = true
    }
    chat.hasGuests = chat.participants.some(id => this.people.get(id)?.guest)
    this.touch(chat, now)
    return true
  }

  /** The caller's view when the caller is a current participant. */
  memberView(chat: Chat, account: Account): UserView | undefined {
    const view = chat.views[account.index]
    return view && !view.removed && chat.participants.includes(account.person.id) ? view : undefined
  }

  displayName(chat: Chat, viewer: Account): string {
    if (chat.type !== "direct_message") return chat.title
    for (const id of chat.participants) {
      if (id !== viewer.person.id) return this.people.get(id)?.name ?? chat.title
    }
    return chat.title
  }

  displayNameLower(chat: Chat, viewer: Account): string {
    if (chat.type !== "direct_message") return chat.titleLower
    for (const id of chat.participants) {
      if (id !== viewer.person.id) return this.people.get(id)?.nameLower ?? chat.titleLower
    }
    return chat.titleLower
  }

  newChat(init: {
    readonly type: Chat["type"]
    readonly title: string
    readonly creatorId: string
    readonly participants: ReadonlyArray<string>
    readonly now: number
    readonly parentChatId?: string | undefined
    readonly threadMessageId?: string | undefined
  }): Chat {
    const chat: Chat = {
      id: this.ids.chatId(),
      type: init.type,
      title: init.title,
      titleLower: init.title.toLowerCase(),
      createdMs: init.now,
      creatorId: init.creatorId,
      participants: [...init.participants],
      messages: [],
      lastMessageMs: undefined,
      lastModifiedMs: init.now,
      previousTitles: [],
      historyEnabled: true,
      parentChatId: init.parentChatId,
      threadMessageId: init.threadMessageId,
      hasGuests: init.participants.some(id => this.people.get(id)?.guest),
      views: this.accounts.map(a => (init.participants.includes(a.person.id) ? newView() : undefined)),
      listKey: init.now,
      searchKey: init.now
    }
    this.add(chat)
    return chat
  }
}
