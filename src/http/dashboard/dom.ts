// Small DOM helpers. Elements are built from text nodes and attributes only (never innerHTML), so
// job content, reasons and messages from the server stay text.

type Handler = (event: Event) => unknown
type Dataset = Readonly<Record<string, string>>
type PropValue = string | number | boolean | null | undefined | Dataset | Handler

/** `class`, `text` (textContent), `dataset`, `on<event>` listeners; the rest become attributes. */
export interface Props {
  readonly class?: string | undefined
  readonly text?: string | number | null | undefined
  readonly dataset?: Dataset | undefined
  readonly [name: string]: PropValue
}

/** A child: strings and numbers become text nodes; null, undefined and false are left out. */
export type Child = Node | string | number | null | undefined | false

/** An element by id; the page's own elements (index.html) are always there. */
export const $ = <E extends HTMLElement = HTMLElement>(id: string): E => document.getElementById(id) as E

/** Builds an element; string children become text nodes. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: ReadonlyArray<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key === "class") el.className = String(value)
    else if (key === "text") el.textContent = String(value)
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value as Handler)
    else if (key === "dataset") Object.assign(el.dataset, value)
    else el.setAttribute(key, value === true ? "" : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    el.append(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    )
  }
  return el
}

/** Builds an SVG element: `on<event>` listeners, the rest attributes. */
export const svg = (
  tag: string,
  attrs?: Readonly<Record<string, string | number | Handler>> | null,
  ...children: ReadonlyArray<Node | string>
): SVGElement => {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag)
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value as Handler)
    else el.setAttribute(key, String(value))
  }
  for (const child of children) el.append(typeof child === "string" ? document.createTextNode(child) : child)
  return el
}

/** Replaces what the page shows under the tabs. */
export const setMain = (...children: ReadonlyArray<Node | null | undefined | false>) =>
  $("main").replaceChildren(
    ...children.filter((c): c is Node => c !== null && c !== undefined && c !== false),
  )

/** The CSS class colouring a job state (s-FINISHED, s-DEAD, ...). */
export const stateClass = (s: string | null | undefined) => (s && /^[A-Z_]+$/.test(s) ? `s-${s}` : "")

export const badge = (s: string | null | undefined, fallback = "NO RUNS") =>
  h("span", { class: `badge ${stateClass(s)}`, text: s ?? fallback })

export const fmtTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "–")

export const timeEl = (iso: string | undefined) =>
  h("time", { datetime: iso, title: iso, text: fmtTime(iso) })

export const shortId = (id: string | null | undefined) => (id ? `${id.slice(0, 8)}…${id.slice(-4)}` : "")
