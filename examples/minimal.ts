/** The smallest program: one scheduled job on SQLite, no server. `npx tsx examples/minimal.ts` */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HaJobs, Job, SqliteStore } from "../src/index.js"

const hello = Job.make({
  type: "hello",
  cron: "*/2 * * * * ?", // every 2 seconds, on one instance at a time
  run: Effect.log("hello from the one instance that holds the lease"),
})

HaJobs.layer([hello]).pipe(
  Layer.provide(SqliteStore.layer({ filename: process.env.HA_JOBS_SQLITE_PATH ?? "./data/minimal.db" })),
  Layer.launch,
  NodeRuntime.runMain,
)
