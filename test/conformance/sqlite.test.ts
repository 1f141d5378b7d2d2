import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { TestClock } from "effect"
import { afterAll } from "vitest"
import { layer } from "../../src/stores/sqlite/SqliteStore.js"
import { storeContract } from "./storeContract.js"

// A real file, in WAL mode, as in production; a fresh one for this run.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-sqlite-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

storeContract({
  name: "sqlite",
  layer: layer({ filename: path.join(dir, "contract.db") }),
  advance: (d) => TestClock.adjust(d),
  live: false,
})
