import { spawn } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"

/**
 * Makes a SQLite file read-only in a way that also stops root (tests may run as root, where
 * chmod 0444 does not stop writes): a file-format write version above 2 (header byte 18) makes
 * SQLite open the file read-only, and every write fails with SQLITE_READONLY, "attempt to write a
 * readonly database" — the error a non-root process gets from a 0444 file. The chmod is kept for
 * non-root runs.
 */
export const makeReadOnly = (file: string) => {
  const fd = fs.openSync(file, "r+")
  try {
    fs.writeSync(fd, Buffer.from([3]), 0, 1, 18)
  } finally {
    fs.closeSync(fd)
  }
  fs.chmodSync(file, 0o444)
}

/** A file of random bytes where a database is expected. */
export const writeRandomBytes = (file: string) => fs.writeFileSync(file, crypto.randomBytes(8192))

/**
 * A second real process holding the file's write lock (`BEGIN EXCLUSIVE`) until `release`.
 * Resolves once the lock is held.
 */
export const holdWriteLock = async (file: string) => {
  const script = `
    const db = new (require("better-sqlite3"))(process.argv[1]);
    db.exec("BEGIN EXCLUSIVE");
    process.stdout.write("locked\\n");
    setInterval(() => {}, 1000);`
  const child = spawn(process.execPath, ["-e", script, file], { stdio: ["ignore", "pipe", "inherit"] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("locked") && resolve())
    child.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)))
  })
  return {
    release: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once("exit", r))
      child.kill("SIGKILL")
      await exited
    },
  }
}
