// A JSON value (an execution's content) as a collapsible tree of <details>.
import { h } from "./dom.js"

/** A JSON value as a collapsible tree; long strings fold too. */
export const jsonTree = (value: unknown, key?: string, depth = 0): HTMLLIElement => {
  const label = key === undefined ? [] : [h("span", { class: "j-key", text: key }), ": "]
  if (value === null || typeof value !== "object") {
    const kind = value === null ? "null" : typeof value
    const text = JSON.stringify(value) ?? String(value)
    if (kind === "string" && text.length > 100)
      return h(
        "li",
        {},
        h(
          "details",
          {},
          h("summary", {}, ...label, h("span", { class: "j-string", text: `${text.slice(0, 80)}…"` })),
          h("span", { class: "j-string", text }),
        ),
      )
    return h("li", {}, ...label, h("span", { class: `j-${kind}`, text }))
  }
  const entries: ReadonlyArray<readonly [string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value)
  const size = Array.isArray(value)
    ? `[${entries.length} item${entries.length === 1 ? "" : "s"}]`
    : `{${entries.length} key${entries.length === 1 ? "" : "s"}}`
  return h(
    "li",
    {},
    h(
      "details",
      { open: depth < 2 },
      h("summary", {}, ...label, h("span", { class: "muted", text: size })),
      h(
        "ul",
        {},
        entries.map(([k, v]) => jsonTree(v, k, depth + 1)),
      ),
    ),
  )
}
