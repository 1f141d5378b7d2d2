/** The plots of BENCHMARKS.md's Scale section (bench/scale.ts), as SVG. */
import * as fs from "node:fs"
import * as path from "node:path"
import { lineChart } from "./svgPlot.js"

export interface PlotPoint {
  readonly conditionalPerSlot: number
  readonly lagP99: number
}

/** Writes docs' bench-scale-writes.svg and bench-scale-lag.svg under `dir`; results by `${J}x${N}`. */
export const writePlots = (
  dir: string,
  results: ReadonlyMap<string, PlotPoint>,
  grid: { readonly J: ReadonlyArray<number>; readonly N: ReadonlyArray<number> },
) => {
  const at = (J: number, N: number, key: "conditionalPerSlot" | "lagP99") => results.get(`${J}x${N}`)?.[key]
  const writes = lineChart({
    title: "Conditional writes per cron slot",
    xLabel: "instances (N)",
    yLabel: "claims + lock acquires per slot",
    categories: grid.N.map(String),
    series: [
      ...grid.J.map((J) => ({
        name: `${J} job types`,
        values: grid.N.map((N) => at(J, N, "conditionalPerSlot")),
      })),
      { name: "every instance claims", values: grid.N.map((N) => N + 1), dashed: true },
    ],
  })
  const lag = lineChart({
    title: "Firing lag p99 (one process)",
    xLabel: "instances (N)",
    yLabel: "ms from slot to run start",
    categories: grid.N.map(String),
    series: grid.J.map((J) => ({ name: `${J} job types`, values: grid.N.map((N) => at(J, N, "lagP99")) })),
  })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "bench-scale-writes.svg"), writes)
  fs.writeFileSync(path.join(dir, "bench-scale-lag.svg"), lag)
  console.error(`plots written to ${dir}/bench-scale-writes.svg and ${dir}/bench-scale-lag.svg`)
}
