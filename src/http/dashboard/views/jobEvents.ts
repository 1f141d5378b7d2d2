// A job type's events (GET /jobs/:type/events): why slots did not run, newest first.
import type { JobEventList } from "../api.js"
import { h, timeEl } from "../dom.js"

const columns = ["Slot (or time)", "Kind", "Count", "Reason", "Instance"]

/** The newest events as a table; a run of equal ones shows its first and last slot and its count. */
export const eventsSection = (list: JobEventList | null) =>
  h(
    "div",
    { class: "section", id: "job-events" },
    h("h2", { text: "Events" }),
    list === null
      ? h("p", { class: "muted", text: "events could not be loaded" })
      : list.events.length === 0
        ? h("p", { class: "muted", id: "events-empty", text: "no missed, skipped or declined slots" })
        : h(
            "table",
            { id: "events" },
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
              list.events.map((e) =>
                h(
                  "tr",
                  { dataset: { kind: e.kind, id: e.id } },
                  h(
                    "td",
                    {},
                    timeEl(e.from),
                    e.to !== e.from ? " – " : null,
                    e.to !== e.from ? timeEl(e.to) : null,
                  ),
                  h("td", { class: "kind", text: e.kind }),
                  h("td", { class: "count", text: String(e.count) }),
                  h("td", { class: "reason", text: e.reason }),
                  h("td", { class: "muted", text: e.instance }),
                ),
              ),
            ),
          ),
  )
