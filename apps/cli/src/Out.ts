import { Effect } from "effect"

/** Writes to stdout, waiting for it to drain when its buffer is full (an export of a whole mirror stays in memory bounds). */
export const writeOut = (text: string) =>
  Effect.async<void>(resume => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })
