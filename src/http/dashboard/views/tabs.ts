// The tabs: the overview, then one per job type with its latest state as a coloured dot.
import { $, h, stateClass } from "../dom.js"
import { state, typeTabs } from "../state.js"
import { typeHref } from "../urls.js"

export const renderTabs = () => {
  const current = state.view.type
  const tab = (href: string, label: string, active: boolean, st?: string | null) =>
    h(
      "a",
      { href, class: active ? "active" : "", dataset: { tab: label } },
      st !== undefined ? h("span", { class: `dot ${stateClass(st)}` }) : null,
      label,
    )
  const audit = location.hash === "#/audit"
  $("tabs").replaceChildren(
    tab("#/", "Overview", current === null && !audit),
    // Many job types: only the one shown has a tab; the overview searches and pages the rest.
    ...(typeTabs() ? state.types : current === null ? [] : [current]).map((t) =>
      tab(typeHref(t), t, current === t, state.summaries.get(t)?.jobs?.[0]?.jobState ?? null),
    ),
    tab("#/audit", "Audit", audit),
  )
}
