import { ParseResult, Schema } from "effect"

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i
const DIGITS = /^-?\d{1,16}$/

/** Epoch milliseconds; the one representation of upstream instants inside the project. */
export const Millis = Schema.Number.pipe(Schema.int(), Schema.brand("Millis"))
export type Millis = typeof Millis.Type

export const parseUpstreamTime = (input: string | number): Millis | undefined => {
  if (typeof input === "number") return Number.isSafeInteger(input) ? (input as Millis) : undefined
  const text = input.trim()
  if (DIGITS.test(text)) return Number(text) as Millis
  if (!ISO_WITH_ZONE.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : (ms as Millis)
}

/**
 * Cliq sends instants as ISO 8601 with `Z` or a local offset, often whole seconds, and legacy payloads as epoch-ms
 * strings or numbers (docs/upstream.md#ids-and-times). All of them decode to epoch milliseconds; encoding gives UTC ISO with ms.
 */
export const UpstreamTime = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Millis, {
  strict: true,
  decode: (input, _, ast) => {
    const ms = parseUpstreamTime(input)
    return ms === undefined
      ? ParseResult.fail(
          new ParseResult.Type(ast, input, "expected an ISO 8601 time with a zone, or epoch milliseconds")
        )
      : ParseResult.succeed(ms)
  },
  encode: ms => ParseResult.succeed(new Date(ms).toISOString())
})

export const toIso = (ms: number): string => new Date(ms).toISOString()
