import { describe, expect, it } from "@effect/vitest"
import { decimal } from "../src/Decimal.js"
import { jsonListBytes } from "../src/JsonBytes.js"
import { formatTime, type TimeStyle } from "../src/TimeFormat.js"

const pad = (n: number) => String(n).padStart(2, "0")

/** The Date-based formatting the arithmetic replaced, as the reference. */
const reference = (ms: number, offsetMinutes: number, style: TimeStyle): string => {
  const seconds = Math.floor(ms / 1000) * 1000
  if (style === "utc") return new Date(seconds).toISOString()
  const local = new Date(seconds + offsetMinutes * 60_000).toISOString().slice(0, 19)
  if (offsetMinutes === 0) return `${local}Z`
  const abs = Math.abs(offsetMinutes)
  return `${local}${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

const OFFSETS = [330, -480, 0, 60, -300, 540, 345, -180, 600, 1, -1, 840, -720, 6000, 12.5]

/** Day and year boundaries (leap days, centuries, the ends of the four-digit range) and a deterministic spread. */
const instants = (): Array<number> => {
  const out = [0, 999, 1000, -1, -1000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_000]
  for (const year of [1970, 1971, 1972, 1999, 2000, 2024, 2025, 2026, 2100, 2400, 9999]) {
    for (const [month, day] of [
      [0, 1],
      [1, 28],
      [1, 29],
      [2, 1],
      [11, 31]
    ] as const) {
      const at = Date.UTC(year, month, day)
      out.push(at, at - 1, at + 1, at - 60_000 * 720, at + 60_000 * 840 + 999)
    }
  }
  let x = 12_345
  for (let i = 0; i < 20_000; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648
    out.push(Math.floor((x / 2_147_483_648) * 2_000_000_000_000) + 1_000_000_000_000 + (i % 1000))
  }
  return out
}

describe("formatTime", () => {
  it("prints exactly what the Date-based formatting prints, for every style and zone", () => {
    const wrong: Array<string> = []
    for (const ms of instants()) {
      for (const offset of OFFSETS) {
        if (formatTime(ms, offset, "offset") !== reference(ms, offset, "offset")) wrong.push(`${ms} ${offset}`)
      }
      if (formatTime(ms, 330, "utc") !== reference(ms, 330, "utc")) wrong.push(`${ms} utc`)
    }
    expect(wrong).toEqual([])
  })

  it("still throws on an instant Date cannot represent", () => {
    expect(() => formatTime(Number.NaN, 0, "offset")).toThrow(RangeError)
    expect(() => formatTime(9e15, 0, "utc")).toThrow(RangeError)
  })
})

describe("decimal", () => {
  it("prints exactly what String prints", () => {
    const values = [0, 1, 99_999_999, 100_000_000, 1e9, 1_767_441_605_250, 99_999_999_999, Number.MAX_SAFE_INTEGER]
    values.push(-5, 1.5, 2 ** 53 + 2, 1e21, Number.NaN, Number.POSITIVE_INFINITY)
    for (let k = 0; k < 100_000; k++) values.push(k * 100_000_000 - 1, k * 100_000_000, k * 7_919_000_003)
    expect(values.filter(n => decimal(n) !== String(n))).toEqual([])
  })
})

describe("jsonListBytes", () => {
  it("is the UTF-8 of JSON.stringify of the wrapping object", () => {
    const items = [
      { chat_id: "1", name: 'quotes " and \\ and \n', creator: { id: "7", name: "Zoë" } },
      { text: "Great work on the launch 🎉", lone: "\ud800", separator: "\u2028", n: 12, ok: true, none: null },
      [1, "two", { three: 3 }],
      { skipped: undefined, kept: 0 }
    ]
    for (const list of [[], items.slice(0, 1), items]) {
      expect(jsonListBytes("chats", list).equals(Buffer.from(JSON.stringify({ chats: list }), "utf8"))).toBe(true)
    }
  })
})
