/** What the Cassandra test files share: the target from cassandra.global.ts, options, node freezing. */
import { execFile, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { promisify } from "node:util"
import { Effect, Fiber } from "effect"
import { describe, inject } from "vitest"
import type { CassandraOptions } from "../../src/stores/cassandra/CassandraStore.js"
import type { CassandraTarget } from "./cassandra.global.js"

const context = inject("cassandra")

export const target: CassandraTarget | undefined = "target" in context ? context.target : undefined
export const unavailable: string | undefined = "unavailable" in context ? context.unavailable : undefined

/** A describe block that runs only with a Cassandra, and says so visibly when it cannot. */
export const describeCassandra = (name: string, body: () => void) => {
  if (unavailable !== undefined) console.warn(`[cassandra tests] SKIPPED "${name}": ${unavailable}`)
  describe.skipIf(target === undefined)(name, body)
}

/** Options for the test keyspace of this run. */
export const options = (overrides: Partial<CassandraOptions> = {}): CassandraOptions => ({
  contactPoints: target?.contactPoints ?? ["127.0.0.1"],
  localDataCenter: target?.localDataCenter,
  keyspace: target?.keyspace,
  username: target?.username,
  password: target?.password,
  ...overrides,
})

const run = promisify(execFile)

/**
 * SIGSTOP reaches the threads of a process one by one: wait until every thread of the JVM is in state
 * T, or a request sent "after" the signal may still be answered.
 */
const allThreadsStopped = (pid: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 2000
    while (Date.now() < deadline) {
      const states = readdirSync(`/proc/${pid}/task`).map((tid) => {
        try {
          // state is the field after "(comm)"; comm may contain spaces.
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
          return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
        } catch {
          return "T" // the thread exited
        }
      })
      if (states.every((s) => s === "T" || s === "t")) return
      yield* Effect.sleep("5 millis")
    }
  })

/**
 * Runs `op` while the node is frozen (SIGSTOP of the local process, or `docker pause` of the
 * container): freezes, starts `op`, thaws after `frozenMs` (also when interrupted), then waits for
 * `op`. A detached watchdog thaws the node after `guardMs` even if this process dies meanwhile, so a
 * failing test never leaves a stopped node behind.
 */
export const duringFreeze = <A, E, R>(
  freeze: NonNullable<CassandraTarget["freeze"]>,
  frozenMs: number,
  op: Effect.Effect<A, E, R>,
  guardMs = 10_000,
): Effect.Effect<A, E, R> => {
  const stop: Effect.Effect<void> =
    "pid" in freeze
      ? Effect.zipRight(
          Effect.sync(() => void process.kill(freeze.pid, "SIGSTOP")),
          allThreadsStopped(freeze.pid),
        )
      : Effect.asVoid(Effect.promise(() => run("docker", ["pause", freeze.containerId])))
  const cont: Effect.Effect<void> =
    "pid" in freeze
      ? Effect.sync(() => void process.kill(freeze.pid, "SIGCONT"))
      : Effect.asVoid(
          Effect.promise(() => run("docker", ["unpause", freeze.containerId]).catch(() => undefined)),
        )
  // Started before the freeze and stopped after the thaw: only a process that dies in between
  // leaves it running, to thaw the node in its place.
  const watchdog = Effect.acquireRelease(
    Effect.sync(() => {
      const command =
        "pid" in freeze
          ? `sleep ${guardMs / 1000}; kill -CONT ${freeze.pid} 2>/dev/null`
          : `sleep ${guardMs / 1000}; docker unpause ${freeze.containerId} >/dev/null 2>&1`
      const child = spawn("sh", ["-c", command], { detached: true, stdio: "ignore" })
      child.unref()
      return child
    }),
    (child) =>
      Effect.sync(() => {
        // Its own process group (detached): the shell and its sleep.
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, "SIGTERM")
          } catch {
            // already gone
          }
        }
      }),
  )
  return Effect.scoped(
    Effect.zipRight(
      watchdog,
      Effect.acquireUseRelease(
        stop,
        () => Effect.tap(Effect.fork(op), () => Effect.sleep(frozenMs)),
        () => cont,
      ),
    ),
  ).pipe(Effect.flatMap((fiber) => Fiber.join(fiber)))
}
