import { spawn } from "node:child_process"
import { tmpdir } from "node:os"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Ref, TestClock } from "effect"
import * as ProductImport from "../../examples/productImport.js"
import * as QueueConsumer from "../../examples/queueConsumer.js"
import { JobManager } from "../../src/index.js"

/** Runs an example program as a real process; resolves with its output once `done` matches. */
const runExample = (file: string, done: RegExp, signal?: NodeJS.Signals) =>
  Effect.async<{ output: string; code: number | null }, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        HA_JOBS_STORE: "memory",
        HA_JOBS_SQLITE_PATH: `${tmpdir()}/ha-jobs-example-${process.pid}.db`,
      },
    })
    let output = ""
    let signalled = false
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (signal && !signalled && done.test(output)) {
        signalled = true
        child.kill(signal)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ output, code }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("examples", () => {
  it.effect("product import: progress per page, then FINISHED with the count", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(ProductImport.importOnce)
      yield* TestClock.adjust("1 second")
      const history = yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        history.map((s) => [s.jobState, s.content]),
        [
          ["FINISHED", { imported: 5, pages: 2 }],
          ["RUNNING", { page: 2, of: 2, imported: 5 }],
          ["RUNNING", { page: 1, of: 2, imported: 3 }],
          ["RUNNING", undefined],
        ],
      )
    }).pipe(Effect.provide(ProductImport.ExampleLayer)),
  )

  it.effect("queue consumer: processes every order under its fencing token and keeps its lease", () =>
    Effect.gen(function* () {
      const manager = yield* JobManager.JobManager
      const queue = yield* QueueConsumer.OrderQueue
      const processed = yield* QueueConsumer.Processed
      const started = yield* manager.trigger("queue-consumer")
      assert.strictEqual(started._tag, "Started")
      for (let id = 1; id <= 5; id++) {
        yield* Queue.offer(queue, { id })
        yield* TestClock.adjust("20 seconds") // longer than the 30 s lease in total: renewals keep it
      }
      assert.deepStrictEqual(
        (yield* Ref.get(processed)).map((p) => [p.order, p.token]),
        [1, 2, 3, 4, 5].map((id) => [id, 1]),
      )
      assert.strictEqual((yield* manager.trigger("queue-consumer"))._tag, "Locked")
    }).pipe(Effect.provide(QueueConsumer.ExampleLayer)),
  )

  it.live("examples/productImport.ts runs as a program and prints its statuses", () =>
    Effect.gen(function* () {
      const { output, code } = yield* runExample("examples/productImport.ts", /FINISHED/)
      assert.strictEqual(code, 0, output)
      assert.match(output, /FINISHED \{"imported":5,"pages":2\}/)
    }),
  )

  it.live("examples/minimal.ts runs its scheduled job on SQLite", () =>
    Effect.gen(function* () {
      const { output } = yield* runExample("examples/minimal.ts", /hello from[\s\S]*hello from/, "SIGINT")
      assert.isAtLeast(output.match(/hello from the one instance/g)?.length ?? 0, 2)
    }),
  )

  it.live("examples/server.ts (npm start) runs both jobs and shuts down gracefully on SIGINT", () =>
    Effect.gen(function* () {
      const { output } = yield* runExample("examples/server.ts", /queue-consumer: RUNNING token=1/, "SIGINT")
      assert.match(output, /product-import, queue-consumer/)
      assert.match(output, /stopping the job: shutdown/)
    }),
  )
})
