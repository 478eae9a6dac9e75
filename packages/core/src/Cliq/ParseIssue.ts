import { ParseResult, Predicate } from "effect"
import { CliqDecodeError } from "./Errors.js"
import type { OperationId } from "./Operations.js"
import { redactSample } from "./Redact.js"

export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((v, key) => (Predicate.hasProperty(v, key) ? v[key] : undefined), value)

/** The first issue of a failed decode, as a field path and message. */
export const firstIssue = (error: ParseResult.ParseError): { readonly path: string; readonly message: string } => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return { path: formatPath(issue?.path ?? []), message: issue?.message ?? "is invalid" }
}

export const decodeFailure = (
  operation: OperationId,
  status: number,
  body: unknown,
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = []
): CliqDecodeError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = [...prefix, ...(issue?.path ?? [])]
  const at = formatPath(path)
  const message = issue?.message ?? "is invalid"
  return new CliqDecodeError({
    operation,
    status,
    path: at,
    sample: redactSample(valueAt(body, path)),
    message: `${operation}: unexpected response at ${at === "" ? "<body>" : at}: ${message}`
  })
}
