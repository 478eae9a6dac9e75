import { TWO_DIGITS } from "./Decimal.js"

export type TimeStyle = "offset" | "utc"

/** 10000-01-01T00:00:00Z: from here on `toISOString` prints six-digit years. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000
const DAY_MS = 86_400_000

const pad = (n: number) => String(n).padStart(2, "0")

/** The reference form, through `Date`; used for what the arithmetic below does not cover. */
const viaDate = (seconds: number, offsetMinutes: number, style: TimeStyle): string => {
  if (style === "utc") return new Date(seconds).toISOString()
  const local = new Date(seconds + offsetMinutes * 60_000).toISOString().slice(0, 19)
  if (offsetMinutes === 0) return `${local}Z`
  const abs = Math.abs(offsetMinutes)
  return `${local}${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/**
 * `new Date(ms).toISOString().slice(0, 19)` for a whole-second instant in 1970–9999, by calendar arithmetic
 * (H. Hinnant's civil_from_days): a list page formats three or four times per chat.
 */
const isoSeconds = (ms: number): string => {
  const days = Math.floor(ms / DAY_MS)
  const secondOfDay = (ms - days * DAY_MS) / 1000
  const shifted = days + 719_468
  const era = Math.floor(shifted / 146_097)
  const dayOfEra = shifted - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const hour = Math.floor(secondOfDay / 3600)
  const minute = Math.floor((secondOfDay - hour * 3600) / 60)
  const second = secondOfDay - hour * 3600 - minute * 60
  return `${TWO_DIGITS[Math.floor(year / 100)]}${TWO_DIGITS[year % 100]}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}`
}

const suffixes = new Map<number, string>()

/** `Z`, `+05:30`, `-08:00`: the zone designator of a whole-minute offset. */
const zoneSuffix = (offsetMinutes: number): string => {
  let suffix = suffixes.get(offsetMinutes)
  if (suffix === undefined) {
    const abs = Math.abs(offsetMinutes)
    suffix = offsetMinutes === 0 ? "Z" : `${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    suffixes.set(offsetMinutes, suffix)
  }
  return suffix
}

const inRange = (ms: number) => ms >= 0 && ms < LAST_FOUR_DIGIT_YEAR_MS

/**
 * Whole seconds, in the caller's zone (`2025-06-15T10:30:00+05:30`, `…Z` for UTC) or as `.000Z` (docs/upstream.md#sim-response-times). The filter
 * keys keep milliseconds, so a body value can never be fed back as an exact bound.
 */
export const formatTime = (ms: number, offsetMinutes: number, style: TimeStyle): string => {
  const seconds = Math.floor(ms / 1000) * 1000
  if (style === "utc") return inRange(seconds) ? `${isoSeconds(seconds)}.000Z` : viaDate(seconds, offsetMinutes, style)
  const local = seconds + offsetMinutes * 60_000
  return inRange(local) && Number.isInteger(offsetMinutes) && Math.abs(offsetMinutes) < 6000
    ? isoSeconds(local) + zoneSuffix(offsetMinutes)
    : viaDate(seconds, offsetMinutes, style)
}
