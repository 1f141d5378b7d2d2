// One execution: its latest status field by field, its content as a tree, and the statuses it wrote
// (a page of them, older ones on demand).
import { call, errorText, type History, type ListedField, type Status } from "../api.js"
import { $, badge, h, timeEl } from "../dom.js"
import { jsonTree } from "../jsonTree.js"
import { enc } from "../urls.js"

// The fields of one execution, in order: the server puts the list it derives from the status
// definition (src/domain/StatusFields.ts) into the page as JSON data (not a script: no CSP entry).
const statusFields: ReadonlyArray<ListedField> = JSON.parse($("status-fields").textContent!)

/** Statuses per page of an execution's history. */
const HistoryPageSize = 100

export const renderDetails = async (type: string, jobId: string) => {
  const box = h(
    "div",
    { class: "section", id: "details", dataset: { jobId } },
    h("h2", { text: `Execution ${jobId}` }),
  )
  const [status, history] = await Promise.all([
    call<Status>("GET", `jobs/${enc(type)}/${enc(jobId)}`),
    call<History>("GET", `jobs/${enc(type)}/${enc(jobId)}/history?limit=${HistoryPageSize}`),
  ])
  if (!status.ok) {
    box.append(h("p", { class: "alert alert-error", text: errorText("Loading the execution", status) }))
    return box
  }
  const s = status.body
  box.append(
    h(
      "dl",
      { class: "kv" },
      statusFields
        .filter((f) => s[f] !== undefined)
        .flatMap((f) => [
          h("dt", { text: f }),
          h(
            "dd",
            { class: `f-${f}` },
            f === "jobState" || f === "jobResult"
              ? badge(s[f])
              : typeof s[f] === "object"
                ? JSON.stringify(s[f]) // params: JSON, not "[object Object]"
                : String(s[f]),
          ),
        ]),
    ),
    h("h2", { text: "Content" }),
    s.content === undefined
      ? h("p", { class: "muted", text: "no content" })
      : h("ul", { class: "tree", id: "content" }, jsonTree(s.content)),
  )
  if (history.ok) {
    const statusRow = (st: Status) =>
      h(
        "tr",
        {},
        h("td", {}, timeEl(st.jobStatusTs)),
        h("td", {}, badge(st.jobState)),
        h("td", { class: "reason", text: st.reason ?? "" }),
      )
    const rows = h("tbody", {}, history.body.history.map(statusRow))
    const failure = h("p", { class: "alert alert-error", hidden: true })
    let next = history.body.next
    // A long execution's progress can fill many pages: older ones come on demand, appended.
    const older: HTMLButtonElement = h("button", {
      id: "statuses-older",
      class: "btn",
      text: "Older statuses",
      hidden: next === null,
      onclick: async () => {
        if (next === null) return
        older.disabled = true
        const before = new URL(next, location.href).searchParams.get("before") ?? ""
        const res = await call<History>(
          "GET",
          `jobs/${enc(type)}/${enc(jobId)}/history?limit=${HistoryPageSize}&before=${enc(before)}`,
        )
        older.disabled = false
        failure.hidden = res.ok
        if (!res.ok) {
          failure.textContent = errorText("Loading older statuses", res)
          return
        }
        rows.append(...res.body.history.map(statusRow))
        next = res.body.next
        older.hidden = next === null
      },
    })
    box.append(
      h("h2", { text: "Statuses of this execution" }),
      h(
        "table",
        { id: "statuses" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Written", "State", "Reason"].map((c) => h("th", { text: c })),
          ),
        ),
        rows,
      ),
      older,
      failure,
    )
  }
  return box
}
