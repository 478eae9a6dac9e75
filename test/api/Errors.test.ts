import { HttpApi, HttpApiError, HttpApiSchema } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Schema, type SchemaAST } from "effect"
import { Api } from "../../apps/api/src/Api.js"
import { renderError } from "../../apps/api/src/Edge.js"
import { ApiError } from "../../apps/api/src/Errors.js"

const members = (ast: SchemaAST.AST): Array<SchemaAST.AST> =>
  ast._tag === "Union" ? ast.types.flatMap(members) : [ast]

const SAMPLE = { error: { code: "some_code", message: "it broke" } }

/**
 * Every error the Api declares (endpoints, groups, the Api itself, middleware), as an instance decoded through its
 * declared schema, with the status the OpenAPI document gives it.
 */
const declaredErrors = () => {
  const found = new Map<string, { readonly name: string; readonly status: number; readonly error: unknown }>()
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ errors, middleware }) => {
      const asts = [...errors.values()].flatMap(e => (e.ast._tag === "Some" ? [e.ast.value] : []))
      for (const m of middleware) asts.push(m.failure.ast)
      for (const ast of asts.flatMap(members)) {
        // The platform's own 400, which the edge renders as InvalidParameter (BadParameters.test.ts).
        if (ast === HttpApiError.HttpApiDecodeError.ast) continue
        const error = Schema.decodeUnknownSync(Schema.make(ast))(SAMPLE)
        const name = error instanceof ApiError ? error.constructor.name : String(error)
        found.set(name, { name, status: HttpApiSchema.getStatusErrorAST(ast), error })
      }
    }
  })
  return [...found.values()].sort((a, b) => a.status - b.status)
}

describe("API errors", () => {
  const declared = declaredErrors()

  it("the Api declares these errors, the bearer middleware's included", () => {
    expect(declared.map(e => [e.name, e.status])).toEqual([
      ["InvalidParameter", 400],
      ["Unauthorized", 401],
      ["NotFound", 404],
      ["Conflict", 409],
      ["PayloadTooLarge", 413],
      ["Internal", 500],
      ["NotReady", 503]
    ])
  })

  it.each(declared)(
    "$name renders with its declared status ($status) in the contract's envelope",
    ({ error, status }) => {
      expect(error).toBeInstanceOf(ApiError)
      if (!(error instanceof ApiError)) return
      const response = renderError(error)
      expect(response.status).toBe(status)
      if (response.body._tag !== "Uint8Array") expect.fail(`unexpected body ${response.body._tag}`)
      else expect(JSON.parse(new TextDecoder().decode(response.body.body))).toEqual(SAMPLE)
    }
  )
})
