/**
 * A small line chart as an SVG document, for the benchmarks' figures in BENCHMARKS.md: categories
 * along x (instance counts, job type counts), a linear y axis from 0, one polyline per series, a
 * legend. Text only (no script, no external font), so GitHub renders it as an image.
 */
export interface Series {
  readonly name: string
  /** One value per category; NaN or undefined leaves a gap (a point not run). */
  readonly values: ReadonlyArray<number | undefined>
  /** Drawn dashed (a reference, e.g. the figure before a change). */
  readonly dashed?: boolean
}

export interface Chart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly categories: ReadonlyArray<string>
  readonly series: ReadonlyArray<Series>
}

const colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"]
const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** A "nice" upper bound for the y axis: 1, 2 or 5 times a power of ten, at least `max`. */
const niceMax = (max: number) => {
  if (!(max > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(max))
  return ([1, 2, 5, 10].find((m) => m * power >= max) ?? 10) * power
}

export const lineChart = (chart: Chart): string => {
  const width = 640
  const height = 360
  const left = 64
  const right = 170
  const top = 40
  const bottom = 56
  const plotW = width - left - right
  const plotH = height - top - bottom
  const all = chart.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)),
  )
  const yMax = niceMax(Math.max(0, ...all))
  const x = (i: number) =>
    left + (chart.categories.length === 1 ? plotW / 2 : (i / (chart.categories.length - 1)) * plotW)
  const y = (v: number) => top + plotH - (v / yMax) * plotH
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${xml(chart.title)}</text>`,
  ]
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
    )
  }
  for (const [i, c] of chart.categories.entries())
    out.push(`<text x="${x(i)}" y="${top + plotH + 18}" text-anchor="middle">${xml(c)}</text>`)
  out.push(
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle">${xml(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${xml(chart.yLabel)}</text>`,
  )
  chart.series.forEach((s, k) => {
    const colour = colours[k % colours.length]!
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : ""
    // Consecutive points only: a point not run breaks the line.
    let run: Array<string> = []
    const flush = () => {
      if (run.length > 1)
        out.push(
          `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${run.join(" ")}"/>`,
        )
      run = []
    }
    for (const [i, v] of s.values.entries()) {
      if (v === undefined || !Number.isFinite(v)) {
        flush()
        continue
      }
      run.push(`${x(i)},${y(v)}`)
      out.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3" fill="${colour}"/>`)
    }
    flush()
    const ly = top + 10 + k * 20
    out.push(
      `<line x1="${width - right + 16}" x2="${width - right + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${width - right + 46}" y="${ly + 4}">${xml(s.name)}</text>`,
    )
  })
  out.push("</svg>")
  return `${out.join("\n")}\n`
}
