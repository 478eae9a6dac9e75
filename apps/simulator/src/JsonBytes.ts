const COMMA = 0x2c

/**
 * `{"<key>":[item,…]}` as UTF-8: the same bytes as `Buffer.from(JSON.stringify({ [key]: items }))`, for plain JSON
 * items. Built item by item because V8 returns a large `JSON.stringify` result as a tree of string parts, and
 * flattening and encoding that costs more than rendering the page; each item's text is small and flat.
 */
export const jsonListBytes = (key: string, items: ReadonlyArray<unknown>): Buffer => {
  const head = `{${JSON.stringify(key)}:[`
  const tail = "]}"
  const parts = items.map(item => JSON.stringify(item) ?? "null")
  let size = Buffer.byteLength(head) + Math.max(0, parts.length - 1) + tail.length
  for (const part of parts) size += Buffer.byteLength(part)
  const out = Buffer.allocUnsafe(size)
  let at = out.write(head)
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[at++] = COMMA
    at += out.write(parts[i]!, at)
  }
  out.write(tail, at)
  return out
}
