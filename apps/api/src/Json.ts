import { HttpServerResponse } from "@effect/platform"

/**
 * A JSON response whose body stays a string: node:http sends the head and a string body in one write, where
 * `HttpServerResponse.unsafeJson` first encodes the text into a Uint8Array (a TextEncoder pass and a second buffer
 * per response). Same bytes, `content-type: application/json` and `content-length`.
 */
export const jsonResponse = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse => {
  const text = JSON.stringify(body)
  return HttpServerResponse.raw(text, {
    status,
    contentType: "application/json",
    contentLength: Buffer.byteLength(text)
  })
}
