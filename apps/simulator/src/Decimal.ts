/** "00"–"99": dates, times and offsets are padded by lookup rather than by building strings. */
export const TWO_DIGITS: ReadonlyArray<string> = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : `${n}`))

/**
 * `String(n)`, cheaper for large integers (epoch ms, message id suffixes): V8 prints numbers beyond the small-integer
 * range through its double-to-string path, so a safe integer is printed as two small ones. Anything else (negative,
 * fractional, unsafe, NaN) is left to `String`.
 */
export const decimal = (n: number): string => {
  if (n < 1e8 || !Number.isSafeInteger(n)) return String(n)
  let high = Math.floor(n / 1e8)
  let low = n - high * 1e8
  if (low < 0) {
    high--
    low += 1e8
  } else if (low >= 1e8) {
    high++
    low -= 1e8
  }
  return String(high) + String(low + 1e8).slice(1)
}
