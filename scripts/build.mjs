// npm run build: compiles src/ to dist/ (JavaScript + declarations) and copies the dashboard's static
// files beside the compiled Dashboard.js, which reads them at startup. migrations/ ships as it is:
// dist/stores/sql/*.js finds it at ../../../migrations, as src/stores/sql/*.ts does.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
fs.rmSync(path.join(root, "dist"), { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" })
fs.cpSync(path.join(root, "src/http/dashboard"), path.join(root, "dist/http/dashboard"), { recursive: true })
console.log("build: dist/ written")
