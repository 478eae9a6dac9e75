import { Either } from "effect"

export interface CompactArgs {
  readonly before: Date
  readonly chunk: number
  readonly dryRun: boolean
}

export const DEFAULT_KEEP_DAYS = 30
export const DEFAULT_CHUNK = 500
const MAX_KEEP_DAYS = 36_500
const MAX_CHUNK = 10_000
const DAY_MS = 86_400_000
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/

const integer = (value: string, min: number, max: number) =>
  /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? Number(value) : undefined

/**
 * `npm run compact -- [--keep-days N | --before DATE] [--chunk N] [--dry-run]`. Every problem is reported, each
 * naming its flag and rule, e.g. `--keep-days: must be an integer from 0 to 36500`.
 */
export const parseCompactArgs = (
  argv: ReadonlyArray<string>,
  now: Date
): Either.Either<CompactArgs, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  let keepDays: number | undefined
  let before: Date | undefined
  let chunk = DEFAULT_CHUNK
  let dryRun = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined]
    const value = () => {
      if (inline !== undefined) return inline
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("--")) return undefined
      i++
      return next
    }
    switch (flag) {
      case "--keep-days": {
        const v = value()
        keepDays = v === undefined ? undefined : integer(v, 0, MAX_KEEP_DAYS)
        if (keepDays === undefined) problems.push(`--keep-days: must be an integer from 0 to ${MAX_KEEP_DAYS}`)
        break
      }
      case "--before": {
        const v = value()
        before = v !== undefined && ISO_DATE.test(v) ? new Date(v) : undefined
        if (before === undefined || Number.isNaN(before.getTime())) {
          before = undefined
          problems.push("--before: must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z")
        } else if (before.getTime() > now.getTime()) {
          problems.push("--before: must not be in the future")
        }
        break
      }
      case "--chunk": {
        const v = value()
        const n = v === undefined ? undefined : integer(v, 1, MAX_CHUNK)
        if (n === undefined) problems.push(`--chunk: must be an integer from 1 to ${MAX_CHUNK}`)
        else chunk = n
        break
      }
      case "--dry-run":
        if (inline !== undefined) problems.push("--dry-run: takes no value")
        dryRun = true
        break
      default:
        problems.push(`${flag}: unknown option (known: --keep-days, --before, --chunk, --dry-run)`)
    }
  }
  if (argv.some(a => a.split("=")[0] === "--keep-days") && argv.some(a => a.split("=")[0] === "--before")) {
    problems.push("--before: cannot be combined with --keep-days")
  }
  if (problems.length > 0) return Either.left(problems)
  const cutoff = before ?? new Date(now.getTime() - (keepDays ?? DEFAULT_KEEP_DAYS) * DAY_MS)
  return Either.right({ before: cutoff, chunk, dryRun })
}
