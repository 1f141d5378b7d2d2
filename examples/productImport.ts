/**
 * Example 1: a product import that reports a count. Run it: `npx tsx examples/productImport.ts`.
 * It runs once, under a lease, on the in-memory store, and prints the statuses it wrote.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { Job, JobContext, JobManager, MemoryStore } from "../src/index.js"

/** Where products come from; a real service would read a feed or an API. */
export class ProductFeed extends Context.Tag("examples/ProductFeed")<
  ProductFeed,
  { readonly pages: Effect.Effect<ReadonlyArray<ReadonlyArray<string>>> }
>() {
  static readonly sample = Layer.succeed(ProductFeed, {
    pages: Effect.succeed([
      ["p-1", "p-2", "p-3"],
      ["p-4", "p-5"],
    ]),
  })
}

export class ImportResult extends Schema.Class<ImportResult>("ImportResult")({
  imported: Schema.Number,
  pages: Schema.Number,
}) {}

export const productImport = Job.make({
  type: "product-import",
  cron: "0 * * * * ?", // every minute, so a newcomer sees it run
  lease: { ttl: "60 seconds" },
  result: ImportResult,
  run: Effect.gen(function* () {
    const ctx = yield* JobContext.JobContext
    const feed = yield* ProductFeed
    const pages = yield* feed.pages
    let imported = 0
    for (const [i, page] of pages.entries()) {
      yield* Effect.sleep("500 millis") // stands in for the work of importing one page
      imported += page.length
      yield* ctx.progress({ page: i + 1, of: pages.length, imported })
    }
    return new ImportResult({ imported, pages: pages.length })
  }),
})

/** Triggers one import and waits for its final status. */
export const importOnce = Effect.gen(function* () {
  const manager = yield* JobManager.JobManager
  const result = yield* manager.trigger("product-import")
  if (result._tag !== "Started") return yield* Effect.dieMessage(`import did not start: ${result._tag}`)
  yield* manager.awaitExecution(result.jobId)
  return (yield* manager.history("product-import", result.jobId)).statuses
})

export const ExampleLayer = JobManager.layerWithRunner([productImport]).pipe(
  Layer.provide(ProductFeed.sample),
  Layer.provide(MemoryStore.layer),
)

if (import.meta.url === `file://${process.argv[1]}`) {
  importOnce.pipe(
    Effect.tap((history) =>
      Effect.forEach([...history].reverse(), (s) =>
        Effect.log(`${s.jobState} ${JSON.stringify(Option.getOrUndefined(Option.fromNullable(s.content)))}`),
      ),
    ),
    Effect.provide(ExampleLayer),
    NodeRuntime.runMain,
  )
}
