// One page of a job type's executions, newest first; a row opens the execution.
import type { Status } from "../api.js"
import { badge, h, shortId, timeEl } from "../dom.js"
import { state } from "../state.js"
import { typeHref } from "../urls.js"

const columns = ["Execution", "State", "Result", "Started", "Duration", "Source", "Attempt", "Reason"]

export const historyTable = (type: string, jobs: ReadonlyArray<Status>) =>
  h(
    "table",
    { id: "history" },
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
      jobs.map((j) =>
        h(
          "tr",
          {
            class: state.view.jobId === j.jobId ? "selected" : "",
            dataset: { jobId: j.jobId, state: j.jobState },
            onclick: () => {
              location.hash = typeHref(type, j.jobId)
            },
          },
          h(
            "td",
            {},
            h("a", {
              class: "mono",
              href: typeHref(type, j.jobId),
              text: shortId(j.jobId),
              title: j.jobId,
            }),
          ),
          h("td", {}, badge(j.jobState)),
          h("td", {}, badge(j.jobResult)),
          h("td", {}, timeEl(j.startTime)),
          h("td", { text: j.duration }),
          h("td", { text: j.triggerSource }),
          h("td", { text: String(j.attempt) }),
          h("td", { class: "reason", text: j.reason ?? "" }),
        ),
      ),
    ),
  )
