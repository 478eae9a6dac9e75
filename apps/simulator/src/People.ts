import type { IdFactory } from "./Ids.js"
import type { Account, Person } from "./Model.js"
import { FIRST_NAMES, LAST_NAMES } from "./Names.js"
import type { ResolvedOptions } from "./Options.js"
import type { Random } from "./Random.js"

/** Every account gets a fixed zone; the first three cover a half-hour offset, a negative one and UTC. */
const OFFSETS = [330, -480, 0, 60, -300, 540, 345, -180, 600, 0] as const

/**
 * The accounts (seeded users holding tokens) come first, then enough contacts for every account to have its own
 * DMs, about 5 % of them inactive, then a few guests from outside the organisation.
 */
export const seedPeople = (
  options: ResolvedOptions,
  random: Random,
  ids: IdFactory
): { readonly people: ReadonlyArray<Person>; readonly accounts: ReadonlyArray<Account> } => {
  const others = Math.ceil(((options.chats * 0.34) / options.users) * 1.5) + 40
  const guests = Math.max(3, Math.floor(others * 0.02))
  const taken = new Map<string, number>()
  const person = (first: string, last: string, active: boolean, guest: boolean): Person => {
    const base = `${first}.${last}`.toLowerCase()
    const n = (taken.get(base) ?? 0) + 1
    taken.set(base, n)
    const email = `${base}${n > 1 ? n : ""}@${guest ? "partner.example" : "zylker.com"}`
    const name = `${first} ${last}`
    return { id: ids.userId(), name, nameLower: name.toLowerCase(), email, active, guest }
  }
  const people: Array<Person> = []
  for (let i = 0; i < options.users; i++) {
    people.push(person(FIRST_NAMES[i % FIRST_NAMES.length]!, LAST_NAMES[i % LAST_NAMES.length]!, true, false))
  }
  for (let i = 0; i < others + guests; i++) {
    const guest = i >= others
    people.push(person(random.pick(FIRST_NAMES), random.pick(LAST_NAMES), guest || !random.chance(0.05), guest))
  }
  const accounts = people.slice(0, options.users).map((person, index) => ({
    index,
    person,
    offsetMinutes: OFFSETS[index % OFFSETS.length]!
  }))
  return { people, accounts }
}
