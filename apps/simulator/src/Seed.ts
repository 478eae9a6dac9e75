import type { IdFactory } from "./Ids.js"
import type { Account, Chat, Person, SimChatType, UserView } from "./Model.js"
import { Message, newView } from "./Model.js"
import { BOTS, DRAFTS, ENTITIES, MESSAGES, PRODUCTS, TEAMS, TOPICS } from "./Names.js"
import type { ResolvedOptions } from "./Options.js"
import { seedPeople } from "./People.js"
import type { Random } from "./Random.js"

export interface World {
  readonly accounts: ReadonlyArray<Account>
  readonly people: ReadonlyArray<Person>
  readonly chats: ReadonlyArray<Chat>
}

const DAY = 86_400_000
const SPAN = 400 * DAY

const TYPE_WEIGHTS: ReadonlyArray<readonly [SimChatType, number]> = [
  ["direct_message", 34],
  ["group_chat", 24],
  ["channel", 14],
  ["thread", 12],
  ["bot", 7],
  ["entity_chat", 5],
  ["crossproduct_custom_chat", 4]
]
const TOTAL_WEIGHT = TYPE_WEIGHTS.reduce((n, [, w]) => n + w, 0)

const CHANNEL_SUFFIXES = ["General", "Announcements", "Help", "Social", "Alerts", "Standup"] as const

const pickType = (random: Random): SimChatType => {
  let r = random.next() * TOTAL_WEIGHT
  for (const [type, weight] of TYPE_WEIGHTS) {
    r -= weight
    if (r < 0) return type
  }
  return "group_chat"
}

export const seedWorld = (options: ResolvedOptions, random: Random, ids: IdFactory): World => {
  const { people, accounts } = seedPeople(options, random, ids)
  const accountIds = new Set(accounts.map(a => a.person.id))
  const others = people.slice(options.users).filter(p => p.active && !p.guest)
  const guests = people.filter(p => p.guest)
  const guestIds = new Set(guests.map(p => p.id))
  const chats: Array<Chat> = []
  const parents: Array<Chat> = []
  const dmCursor = accounts.map((_, i) => (i * 7) % Math.max(1, others.length))
  const dmTaken = accounts.map(() => new Set<string>())
  const accountPairs = new Set<string>()

  const anchor = options.seedEndMs
  const sameMsStart = Math.floor(options.chats * 0.37)
  const sameSecondStart = Math.floor(options.chats * 0.71)
  const burstMs = anchor - 3 * DAY + 123
  const burstSecond = anchor - 5 * DAY - 7000
  let previousBase = anchor - DAY
  let previousBump = anchor - DAY

  const randomAccounts = (p: number): Array<Account> => {
    const chosen = accounts.filter(() => random.chance(p))
    return chosen.length > 0 ? chosen : [random.pick(accounts)]
  }
  /** Adds unless present: participant lists are small, a scan is cheaper than a Set per chat. */
  const addTo = (list: Array<string>, id: string) => {
    if (!list.includes(id)) list.push(id)
  }
  const addOthers = (list: Array<string>, min: number, max: number) => {
    const n = Math.min(others.length, random.int(min, max))
    for (let k = 0; k < n; k++) addTo(list, random.pick(others).id)
  }
  const dmPartner = (owner: Account): string | undefined => {
    if (accounts.length > 1 && random.chance(0.1)) {
      const other = random.pick(accounts)
      const key = [owner.index, other.index].sort().join(":")
      if (other !== owner && !accountPairs.has(key)) {
        accountPairs.add(key)
        return other.person.id
      }
    }
    for (let tries = 0; tries < others.length; tries++) {
      const candidate = others[dmCursor[owner.index]! % others.length]!
      dmCursor[owner.index] = dmCursor[owner.index]! + 1
      if (!dmTaken[owner.index]!.has(candidate.id)) {
        dmTaken[owner.index]!.add(candidate.id)
        return candidate.id
      }
    }
    return undefined
  }

  for (let i = 0; i < options.chats; i++) {
    let type = pickType(random)
    const parent = type === "thread" && parents.length > 0 ? random.pick(parents) : undefined
    if (type === "thread" && !parent) type = "group_chat"

    let base = anchor - Math.floor(SPAN * random.next() ** 2)
    const burst = i >= sameMsStart && i < sameMsStart + options.sameMsBurst
    const secondBurst = i >= sameSecondStart && i < sameSecondStart + options.sameSecondBurst
    if (burst) base = burstMs
    else if (secondBurst) base = burstSecond + random.int(0, 999)
    else {
      // Ties: about one chat in eight shares the previous chat's millisecond, as many more its second.
      const roll = random.next()
      if (roll < 0.12) base = previousBase
      else if (roll < 0.24) base = Math.floor(previousBase / 1000) * 1000 + random.int(0, 999)
    }
    previousBase = base

    const hasMessages = random.chance(type === "direct_message" ? 0.97 : 0.9)
    const gap = Math.floor(random.next() * 60 * DAY)
    const createdMs = hasMessages ? Math.min(base, parent ? Math.max(parent.createdMs, base - gap) : base - gap) : base
    let lastModifiedMs = base
    if (!burst && !secondBurst && anchor - base > 1 && random.chance(0.25)) {
      // Renames, pins, membership changes after the last message; some share the previous bump's millisecond.
      lastModifiedMs =
        random.chance(0.3) && previousBump > base
          ? previousBump
          : base + random.int(1, Math.min(30 * DAY, anchor - base))
      previousBump = lastModifiedMs
    }

    const members: Array<Account> = []
    const participants: Array<string> = []
    let title = ""
    let hasGuests = false
    let head: Message | undefined
    if (type === "direct_message") {
      const owner = random.pick(accounts)
      const partner = dmPartner(owner)
      if (partner === undefined) type = "group_chat"
      else {
        members.push(owner)
        const partnerAccount = accounts.find(a => a.person.id === partner)
        if (partnerAccount) members.push(partnerAccount)
        participants.push(owner.person.id, partner)
      }
    }
    if (type === "bot") {
      const owner = random.pick(accounts)
      members.push(owner)
      participants.push(owner.person.id)
      title = random.pick(BOTS)
    } else if (type === "thread" && parent) {
      for (const account of accounts) {
        if (parent.views[account.index] && !parent.views[account.index]!.removed && random.chance(0.8)) {
          members.push(account)
        }
      }
      if (members.length === 0) members.push(random.pick(accounts))
      participants.push(...members.map(a => a.person.id))
      // Accounts join a thread only as members (they need a view); other parent participants at random.
      for (const id of parent.participants) {
        if (!accountIds.has(id) && random.chance(0.3)) {
          addTo(participants, id)
          if (guestIds.has(id)) hasGuests = true
        }
      }
      head = parent.messages.length > 0 ? random.pick(parent.messages) : undefined
      title = head ? head.text : random.pick(MESSAGES)
    } else if (type !== "direct_message") {
      members.push(...randomAccounts(0.65))
      participants.push(...members.map(a => a.person.id))
      const [min, max] = type === "channel" ? [4, 40] : type === "group_chat" ? [2, 10] : [1, 5]
      addOthers(participants, min, max)
      if ((type === "group_chat" || type === "channel") && random.chance(0.05)) {
        addTo(participants, random.pick(guests).id)
        hasGuests = true
      }
      title =
        type === "channel"
          ? `${random.pick(TEAMS)} ${random.pick(CHANNEL_SUFFIXES)}`
          : type === "group_chat"
            ? random.chance(0.5)
              ? `${random.pick(TOPICS)} - ${random.pick(TEAMS)}`
              : random.pick(TOPICS)
            : type === "entity_chat"
              ? `${random.pick(ENTITIES)} #${random.int(1000, 99999)}`
              : `${random.pick(PRODUCTS)}: ${random.pick(TOPICS)}`
    }
    // A copy is exact-size; the grown array would keep its slack for the life of the chat.
    const unique = participants.slice()
    const creatorId =
      type === "direct_message" || type === "bot" || random.chance(0.4)
        ? random.pick(members).person.id
        : random.pick(unique)

    const count = hasMessages ? random.int(1, 4) : 0
    const messages: Array<Message> = new Array(count)
    for (let k = count - 1, t = base; k >= 0; k--) {
      messages[k] = new Message(t, ids.messageSuffix(), random.pick(unique), random.pick(MESSAGES))
      t = Math.max(createdMs, t - random.int(1000, 6 * 3_600_000))
    }

    const views: Array<UserView | undefined> = accounts.map(() => undefined)
    for (const account of members) {
      const unread = messages.length > 0 && random.chance(0.3) ? random.int(1, messages.length) : 0
      views[account.index] = {
        pinned: random.chance(0.06),
        muted: random.chance(0.08),
        closed: random.chance(0.04),
        joined: type === "channel" && random.chance(0.5),
        removed: false,
        draft: random.chance(0.03) ? random.pick(DRAFTS) : undefined,
        unreadCount: unread,
        unreadFromMs: unread > 0 ? messages[messages.length - unread]!.timeMs : undefined,
        clearedAtMs: undefined,
        usage: random.chance(0.2) ? random.int(1, 50) : 0
      }
    }
    if (type !== "direct_message" && type !== "bot") {
      for (const account of accounts) {
        if (!views[account.index] && random.chance(0.05)) {
          views[account.index] = newView({ removed: true, closed: true })
        }
      }
    }

    const previousTitles: Array<string> = []
    if ((type === "group_chat" || type === "thread") && random.chance(0.1)) {
      for (let k = random.int(1, 2); k > 0; k--) previousTitles.push(random.pick(TOPICS))
    }

    const chat: Chat = {
      id: ids.chatId(),
      type,
      title,
      titleLower: title.toLowerCase(),
      createdMs,
      creatorId,
      participants: unique,
      messages,
      lastMessageMs: hasMessages ? base : undefined,
      lastModifiedMs,
      previousTitles,
      historyEnabled: random.chance(0.9),
      parentChatId: parent?.id,
      threadMessageId: parent ? (head?.id ?? ids.messageId(createdMs)) : undefined,
      hasGuests,
      views,
      listKey: hasMessages ? base : createdMs,
      searchKey: lastModifiedMs
    }
    chats.push(chat)
    if (type === "channel" || type === "group_chat") parents.push(chat)
  }
  return { accounts, people, chats }
}
