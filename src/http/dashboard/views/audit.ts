// The audit log: who triggered, cancelled, paused or resumed what, newest first (GET /audit).
import { type AuditList, call, errorText } from "../api.js"
import { h, setMain, timeEl } from "../dom.js"
import { typeHref } from "../urls.js"

const columns = ["When", "Action", "Job type", "Who", "Detail", "Outcome", "Instance"]

let renderSeq = 0

export const renderAudit = async (): Promise<void> => {
  const seq = ++renderSeq
  const res = await call<AuditList>("GET", "audit?limit=100")
  if (seq !== renderSeq || location.hash !== "#/audit") return
  if (!res.ok) {
    setMain(h("p", { class: "alert alert-error", text: errorText("Loading the audit log", res) }))
    return
  }
  const entries = res.body.entries
  setMain(
    h(
      "div",
      { class: "section" },
      h("h2", { text: "Audit log" }),
      h("p", {
        class: "muted",
        text: "Every manual trigger, cancel, pause, resume and backfill, from the API, this dashboard or the library; the newest 100.",
      }),
      entries.length === 0
        ? h("p", { class: "muted", id: "audit-empty", text: "nothing recorded yet" })
        : h(
            "table",
            { id: "audit" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                columns.map((c) => h("th", { text: c })),
              ),
            ),
            h(
              "tbody",
              {},
              entries.map((e) =>
                h(
                  "tr",
                  { dataset: { action: e.action, id: e.id } },
                  h("td", {}, timeEl(e.at)),
                  h("td", { class: "action", text: e.action }),
                  h("td", {}, h("a", { href: typeHref(e.jobType), text: e.jobType })),
                  h("td", { class: "identity", text: e.identity }),
                  h("td", { class: "detail mono", text: e.detail }),
                  h("td", { class: "outcome", text: e.outcome }),
                  h("td", { class: "muted", text: e.instance }),
                ),
              ),
            ),
          ),
    ),
  )
}
