import { type CommandInput, parseCommand } from "@cliq-mirror/core"
import { JSONSchema, ParseResult, Predicate, Schema } from "effect"
import { CommandBody } from "./Dto/Command.js"

export const MAX_BATCH = 1000

/** Schemas the OpenAPI document needs for the requests below, under `components/schemas` (Api.ts adds them). */
export const INTAKE_SCHEMA_DEFINITIONS: Record<string, JSONSchema.JsonSchema7> = {}
const documented = (schema: Schema.Schema.All) =>
  JSONSchema.fromAST(schema.ast, {
    definitions: INTAKE_SCHEMA_DEFINITIONS,
    definitionPath: "#/components/schemas/",
    target: "openApi3.1"
  })

const Input = Schema.declare(
  (u: unknown): u is CommandInput => Predicate.hasProperty(u, "command") && Predicate.hasProperty(u, "accountId"),
  { identifier: "CommandInput" }
)

/**
 * One command request as the API declares it, decoded by core's parseCommand (the one validation path): a broken
 * rule fails at the field it names, which the edge renders as the 400's `field`. The document shows `CommandBody`.
 */
export const CommandRequest = Schema.transformOrFail(Schema.Unknown, Input, {
  strict: true,
  decode: (body, _, ast) => {
    const parsed = parseCommand(body)
    if (parsed._tag === "Right") return ParseResult.succeed(parsed.right)
    const { field, message } = parsed.left
    const issue = new ParseResult.Type(ast, body, message)
    return ParseResult.fail(field === "body" ? issue : new ParseResult.Pointer(field, body, issue))
  },
  encode: input =>
    ParseResult.succeed({
      type: input.command.type,
      ...input.command.params,
      ...(input.accountId === undefined ? {} : { account_id: input.accountId }),
      ...(input.idempotencyKey === undefined ? {} : { idempotency_key: input.idempotencyKey })
    })
}).annotations({ jsonSchema: documented(CommandBody) })

const BATCH_RULE = `must be a list of 1 to ${MAX_BATCH} commands`

export const CommandBatchRequest = Schema.Struct({
  commands: Schema.propertySignature(
    Schema.Array(CommandRequest)
      .annotations({ message: () => BATCH_RULE })
      .pipe(Schema.filter(list => list.length >= 1 && list.length <= MAX_BATCH, { message: () => BATCH_RULE }))
  ).annotations({ missingMessage: () => BATCH_RULE })
}).annotations({
  message: () => ({ message: 'must be a JSON object { "commands": [...] }', override: false }),
  parseOptions: { onExcessProperty: "error" },
  jsonSchema: documented(
    Schema.Struct({
      commands: Schema.Array(CommandBody).annotations({ description: "1 to 1000 commands, taken in all or nothing" })
    })
  )
})
