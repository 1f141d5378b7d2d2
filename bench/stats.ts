/** Small helpers shared by the bench modules and the chaos suite. */
import { type SpawnOptions, spawn } from "node:child_process"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { HttpServer } from "@effect/platform"
import { Context, Effect, Exit, Layer, Scope } from "effect"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Runs a .ts file of this repository in its own Node process (through tsx), output piped. */
export const spawnTsx = (script: string, env: Record<string, string>) =>
  spawn(process.execPath, ["--import", "tsx", path.join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })

export const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
export const ms = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : "n/a")
export const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a")
export const sleep = (millis: number) => new Promise<void>((r) => setTimeout(r, millis))

/** Polls `probe` until it yields a value; fails naming `what` after `timeoutMs`. */
export const waitFor = async <A>(
  what: string,
  probe: () => Promise<A | undefined> | A | undefined,
  timeoutMs: number,
  pollMs = 20,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = await probe()
    if (v !== undefined) return v
    await sleep(pollMs)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** One bench module's result: a titled markdown section. */
export interface Section {
  readonly title: string
  readonly command: string
  readonly body: string
}

/**
 * Builds a service's HTTP server layer in a scope of its own (a bench's service process lives until
 * told to stop) and starts the event-loop delay histogram: its port, the histogram, and `close`.
 */
export const serveForBench = async <E>(app: Layer.Layer<HttpServer.HttpServer, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(app, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  return { port: address.port, loop, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/**
 * Runs a command (a script of the chaos suite's store faults), killed after `ms`; resolves with its
 * output, rejects with the exit and the output's tail.
 */
export const runBounded = (
  label: string,
  command: string,
  args: ReadonlyArray<string>,
  ms: number,
  options: SpawnOptions = {},
) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, {
      ...options,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: ms,
      killSignal: "SIGKILL",
    })
    let out = ""
    child.stdout!.on("data", (d) => (out += d))
    child.stderr!.on("data", (d) => (out += d))
    child.once("error", reject)
    child.once("exit", (code, signal) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `chaos: ${label} failed (exit ${code ?? signal}, limit ${ms} ms):\n${out.slice(-4_000)}`,
            ),
          ),
    )
  })
