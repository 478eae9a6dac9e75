import { ZOHO_TOKEN_LIMITS as TOKEN_LIMITS } from "@cliq-mirror/core"
import { Auth, type IssueTokenInput } from "./Auth.js"
import { ChatStore } from "./ChatStore.js"
import { Clock } from "./Clock.js"
import {
  type AccountTruth,
  type CreateChatInput,
  type IssuedToken,
  type PersonTruth,
  type PostMessageInput,
  type PostMessagesInput,
  SimulatorControlError,
  type UserStateInput
} from "./ControlTypes.js"
import { type ArmedFault, type FaultSpec, Faults } from "./Faults.js"
import { makeIdFactory } from "./Ids.js"
import type { Chat } from "./Model.js"
import { MESSAGES } from "./Names.js"
import type { ResolvedOptions } from "./Options.js"
import { makeRandom } from "./Random.js"
import { RequestLog, type RequestLogEntry, type Violation } from "./RequestLog.js"
import { seedWorld } from "./Seed.js"
import { Throttle, type ThrottleSlotStatus } from "./Throttle.js"
import { type ChatTruth, chatTruth, type MessageTruth, messageTruth } from "./Truth.js"

/**
 * Everything the simulator knows, and every way to change it outside the API. The control API (`/_sim`) is a thin
 * JSON layer over these methods.
 */
export class SimulatorState {
  readonly clock = new Clock()
  readonly store: ChatStore
  readonly throttle: Throttle
  readonly auth: Auth
  readonly faults = new Faults()
  readonly log: RequestLog

  constructor(
    readonly options: ResolvedOptions,
    apiDomain: string
  ) {
    const random = makeRandom(options.seed)
    const ids = makeIdFactory(random, options.chatIdStyle)
    const world = seedWorld(options, random, ids)
    this.store = new ChatStore(world.accounts, world.people, world.chats, ids, random)
    this.throttle = new Throttle(options.scaledBuckets)
    this.auth = new Auth(
      options.tokens,
      options.refreshTokens,
      Math.max(1, Math.round(options.accessTokenLifetimeSeconds * 1000 * options.timeScale)),
      Math.max(1, Math.round(TOKEN_LIMITS.mintWindowMs * options.timeScale)),
      apiDomain
    )
    this.log = new RequestLog(options.requestLogLimit)
  }

  now(): number {
    return this.clock.now()
  }

  advanceClock(ms: number): number {
    return this.clock.advance(ms)
  }

  accounts(): ReadonlyArray<AccountTruth> {
    return this.store.accounts.map(a => ({
      userIndex: a.index,
      userId: a.person.id,
      name: a.person.name,
      email: a.person.email,
      offsetMinutes: a.offsetMinutes,
      token: this.options.tokens[a.index]!
    }))
  }

  userId(userIndex: number): string {
    const account = this.store.accounts[userIndex]
    if (!account) throw new SimulatorControlError(`no account with index ${userIndex}`)
    return account.person.id
  }

  people(): ReadonlyArray<PersonTruth> {
    return [...this.store.people.values()].map(p => ({
      userId: p.id,
      name: p.name,
      email: p.email,
      active: p.active,
      guest: p.guest,
      account: this.store.accountByUserId.has(p.id)
    }))
  }

  chats(): ReadonlyArray<ChatTruth> {
    return [...this.store.chats.values()].map(chat => chatTruth(this.store, chat, false))
  }

  chat(chatId: string): ChatTruth | undefined {
    const chat = this.store.chats.get(chatId) ?? this.store.deleted.get(chatId)
    return chat ? chatTruth(this.store, chat, true) : undefined
  }

  private live(chatId: string): Chat {
    const chat = this.store.chats.get(chatId)
    if (!chat) throw new SimulatorControlError(`unknown chat ${chatId}`, 404)
    return chat
  }

  private defaultSender(chat: Chat): string {
    for (const id of chat.participants) if (!this.store.accountByUserId.has(id)) return id
    const first = chat.participants[0]
    if (first === undefined) throw new SimulatorControlError(`chat ${chat.id} has no participants`)
    return first
  }

  postMessage(chatId: string, input: PostMessageInput = {}): MessageTruth {
    const chat = this.live(chatId)
    const sender = input.senderId ?? this.defaultSender(chat)
    if (!chat.participants.includes(sender))
      throw new SimulatorControlError(`${sender} is not a participant of ${chatId}`)
    const text = input.text ?? this.store.random.pick(MESSAGES)
    return messageTruth(this.store.appendMessage(chat, sender, text, input.atMs ?? this.now()))
  }

  /** One message in each chat, all stamped with the same millisecond (unless a chat's history forbids it). */
  postMessages(input: PostMessagesInput): ReadonlyArray<MessageTruth> {
    const atMs = input.atMs ?? this.now()
    for (const id of input.chatIds) this.live(id)
    return input.chatIds.map(chatId => this.postMessage(chatId, { ...input, atMs }))
  }

  renameChat(chatId: string, title: string): ChatTruth {
    const chat = this.live(chatId)
    if (title.trim() === "") throw new SimulatorControlError("title must not be blank")
    this.store.rename(chat, title, this.now())
    return chatTruth(this.store, chat, false)
  }

  /** Per-user flags; pins, mutes, closes and joins bump last_modified_time, drafts do not. */
  setUserState(chatId: string, input: UserStateInput): ChatTruth {
    const chat = this.live(chatId)
    this.userId(input.userIndex)
    const view = chat.views[input.userIndex]
    if (!view) throw new SimulatorControlError(`account ${input.userIndex} has no relation to chat ${chatId}`)
    let changed = false
    for (const flag of ["pinned", "muted", "closed", "joined"] as const) {
      const value = input[flag]
      if (value !== undefined && view[flag] !== value) {
        view[flag] = value
        changed = true
      }
    }
    if (input.draft !== undefined) view.draft = input.draft ?? undefined
    if (changed) this.store.touch(chat, this.now())
    return chatTruth(this.store, chat, false)
  }

  setHistory(chatId: string, enabled: boolean): ChatTruth {
    const chat = this.live(chatId)
    if (chat.historyEnabled !== enabled) {
      chat.historyEnabled = enabled
      this.store.touch(chat, this.now())
    }
    return chatTruth(this.store, chat, false)
  }

  addMembers(chatId: string, userIds: ReadonlyArray<string>): ReadonlyArray<string> {
    const chat = this.live(chatId)
    const unknown = userIds.filter(id => !this.store.people.has(id))
    if (unknown.length > 0) throw new SimulatorControlError(`unknown users ${unknown.join(", ")}`)
    const now = this.now()
    return userIds.filter(id => this.store.addParticipant(chat, id, now))
  }

  removeMembers(chatId: string, userIds: ReadonlyArray<string>): ReadonlyArray<string> {
    const chat = this.live(chatId)
    const now = this.now()
    return userIds.filter(id => this.store.removeParticipant(chat, id, now))
  }

  createChat(input: CreateChatInput): ChatTruth {
    const participants = [...new Set(input.participantIds)]
    const unknown = participants.filter(id => !this.store.people.has(id))
    if (unknown.length > 0) throw new SimulatorControlError(`unknown users ${unknown.join(", ")}`)
    if (participants.length === 0) throw new SimulatorControlError("participantIds must not be empty")
    if (input.chatType === "direct_message" && participants.length !== 2) {
      throw new SimulatorControlError("a direct_message has exactly two participants")
    }
    if (input.chatType === "thread" && (!input.parentChatId || !this.store.chats.has(input.parentChatId))) {
      throw new SimulatorControlError("a thread needs an existing parentChatId")
    }
    const now = this.now()
    const title = input.chatType === "direct_message" ? "" : (input.title ?? `Chat ${this.store.chats.size + 1}`)
    const chat = this.store.newChat({
      type: input.chatType,
      title,
      creatorId: input.creatorId ?? participants[0]!,
      participants,
      now,
      parentChatId: input.parentChatId,
      threadMessageId:
        input.chatType === "thread" ? (input.threadMessageId ?? this.store.ids.messageId(now)) : undefined
    })
    if (input.withMessage) {
      this.postMessage(chat.id, typeof input.withMessage === "string" ? { text: input.withMessage } : {})
    }
    return chatTruth(this.store, chat, true)
  }

  /** The chat vanishes for everyone (API calls on it get `chat_access_denied`) until restored. */
  deleteChat(chatId: string): void {
    this.store.delete(this.live(chatId))
  }

  restoreChat(chatId: string): ChatTruth {
    const chat = this.store.restore(chatId)
    if (!chat) throw new SimulatorControlError(`no deleted chat ${chatId}`, 404)
    return chatTruth(this.store, chat, false)
  }

  injectFault(spec: FaultSpec): ArmedFault {
    return this.faults.arm(spec)
  }

  listFaults(): ReadonlyArray<ArmedFault> {
    return this.faults.list()
  }

  clearFaults(id?: number): number {
    return this.faults.clear(id)
  }

  requests(sinceSeq?: number): ReadonlyArray<RequestLogEntry> {
    return this.log.requests(sinceSeq)
  }

  violations(sinceSeq?: number): ReadonlyArray<Violation> {
    return this.log.violations(sinceSeq)
  }

  resetLogs(): void {
    this.log.reset()
  }

  issueToken(input: IssueTokenInput): IssuedToken {
    this.userId(input.userIndex)
    const record = this.auth.issue(input, this.now())
    return {
      accessToken: record.token,
      userIndex: record.userIndex,
      scopes: [...record.scopes],
      expiresAtMs: record.expiresAtMs
    }
  }

  revokeToken(token: string): boolean {
    return this.auth.revoke(token)
  }

  throttleStatus(): ReadonlyArray<ThrottleSlotStatus> {
    return this.throttle.status(this.now())
  }

  resetThrottle(): void {
    this.throttle.reset()
  }
}
