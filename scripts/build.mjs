// npm run build: compiles src/ to dist/ (JavaScript + declarations) and writes the dashboard beside
// the compiled Dashboard.js, which reads it at startup: index.html and app.css as they are, and
// app.js, the TypeScript modules of src/http/dashboard/ bundled into one script by esbuild (with
// Dashboard.ts' own bundleDashboard, the function that bundles them when run from source; tsc leaves
// them out, see tsconfig.build.json). migrations/ ships as it is: dist/stores/sql/*.js finds it at
// ../../../migrations, as src/stores/sql/*.ts does.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
fs.rmSync(path.join(root, "dist"), { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" })

const source = path.join(root, "src/http/dashboard")
const target = path.join(root, "dist/http/dashboard")
const { bundleDashboard } = await import(pathToFileURL(path.join(root, "dist/http/Dashboard.js")).href)
fs.mkdirSync(target, { recursive: true })
fs.writeFileSync(path.join(target, "app.js"), bundleDashboard(source).script)
for (const file of ["index.html", "app.css"])
  fs.copyFileSync(path.join(source, file), path.join(target, file))
console.log("build: dist/ written")
