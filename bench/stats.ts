/** Small helpers shared by the bench modules and the chaos suite. */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as readline from "node:readline"
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

/**
 * A bench's service process (the bench file itself, run with `env`), driven through its stdin: it
 * answers on lines `<TAG> <what> <json>`, and says `<TAG> listening <port>` once it serves. `ask`
 * writes a command and waits for the next answer named `what`.
 */
export const startDriven = async (
  file: string,
  tag: string,
  env: Record<string, string>,
  { listenMs = 60_000, answerMs = 60_000 } = {},
): Promise<{
  readonly child: ChildProcess
  readonly port: number
  readonly ask: <A>(command: string, what: string) => Promise<A>
}> => {
  // As spawnTsx does, but with stdin to drive it.
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  })
  const answers = new Map<string, Array<unknown>>()
  let output = ""
  const answerLine = new RegExp(`^${tag} (\\w+) (.*)$`)
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const m = answerLine.exec(line)
    if (m) answers.set(m[1]!, [...(answers.get(m[1]!) ?? []), JSON.parse(m[2]!)])
    else output = `${output}${line}\n`.slice(-5_000)
  })
  child.stderr!.on("data", (d) => {
    output = (output + d).slice(-5_000)
  })
  const ask = <A>(command: string, what: string): Promise<A> => {
    const seen = answers.get(what)?.length ?? 0
    child.stdin!.write(`${command}\n`)
    return waitFor(
      `the service's "${what}" (${output})`,
      () => {
        const all = answers.get(what)
        return all && all.length > seen ? (all.at(-1) as A) : undefined
      },
      answerMs,
    )
  }
  const port = await waitFor(
    `the service to listen (${output})`,
    () => answers.get("listening")?.[0] as number | undefined,
    listenMs,
  )
  return { child, port, ask }
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
