const SECRET_KEY = /token|secret|password|authori[sz]ation|cookie/i
const SAMPLE_MAX = 200

const mask = (value: unknown, depth = 0): unknown => {
  if (depth > 8 || typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(v => mask(v, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? "<redacted>" : mask(v, depth + 1)])
  )
}

/** A short JSON rendering with token-like keys masked, safe to log and persist. */
export const redactSample = (value: unknown): string => {
  const json = JSON.stringify(mask(value)) ?? String(value)
  return json.length > SAMPLE_MAX ? `${json.slice(0, SAMPLE_MAX)}…` : json
}
