import { Schema } from "effect"

export class Health extends Schema.Class<Health>("Health")({ status: Schema.Literal("ok") }) {}

export class Ready extends Schema.Class<Ready>("Ready")({
  status: Schema.Literal("ok"),
  postgres: Schema.Literal("ok"),
  redis: Schema.Literal("ok")
}) {}
