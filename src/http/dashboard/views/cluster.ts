// The cluster on the overview: which instances are alive (their last heartbeat), and which execution,
// on which instance, holds each lock right now with its lease's time left (GET /instances).
import { type Cluster, call, errorText } from "../api.js"
import { h, shortId, timeEl } from "../dom.js"
import { typeHref } from "../urls.js"

/** Heartbeats change without any status event: the section reloads itself this often while shown. */
const RefreshMs = 10_000

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`)

const table = (id: string, columns: ReadonlyArray<string>, rows: ReadonlyArray<HTMLTableRowElement>) =>
  h(
    "table",
    { id },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { text: c })),
      ),
    ),
    h("tbody", {}, rows),
  )

const render = (cluster: Cluster) => {
  const now = Date.parse(cluster.now)
  const instances = cluster.instances.map((i) =>
    h(
      "tr",
      { dataset: { instance: i.instance, gone: String(i.gone) } },
      h(
        "td",
        { class: "mono" },
        i.instance,
        i.self ? h("span", { class: "muted", text: " (this one)" }) : null,
      ),
      h(
        "td",
        {},
        h("span", { class: `badge ${i.gone ? "gone" : "alive"}`, text: i.gone ? "GONE" : "ALIVE" }),
      ),
      h(
        "td",
        {},
        timeEl(i.lastSeen),
        h("span", { class: "muted", text: ` ${seconds(now - Date.parse(i.lastSeen))} ago` }),
      ),
      h("td", {}, timeEl(i.startedAt)),
    ),
  )
  const locks = cluster.locks.map((l) =>
    h(
      "tr",
      { dataset: { lockType: l.lockType } },
      h("td", { class: "mono", text: l.lockType }),
      h("td", {}, h("a", { href: typeHref(l.jobType), text: l.jobType })),
      h("td", {}, h("a", { class: "mono", href: typeHref(l.jobType, l.jobId), text: shortId(l.jobId) })),
      h("td", { class: "mono", text: l.instance ?? "–" }),
      h("td", { class: "lease-left", text: seconds(l.expiresInMs) }),
    ),
  )
  return [
    h("h2", { text: "Instances" }),
    instances.length
      ? table("instances", ["Instance", "State", "Last heartbeat", "Started"], instances)
      : h("p", { class: "muted", text: "no heartbeats in the store yet" }),
    h(
      "p",
      { class: "muted" },
      `Each instance announces itself every ${cluster.heartbeatEvery ?? "few seconds"}; one not seen for 3 of its intervals is gone.`,
    ),
    h("h2", { text: "Locks held now" }),
    locks.length
      ? table("locks", ["Lock type", "Job type", "Execution", "Instance", "Lease left"], locks)
      : h("p", { class: "muted", id: "locks-none", text: "no lock is held" }),
  ]
}

let timer: ReturnType<typeof setInterval> | undefined

/** The section, filled in when GET /instances answers, and again every RefreshMs while it is shown. */
export const clusterSection = () => {
  const box = h("div", { class: "section", id: "cluster" }, h("h2", { text: "Instances" }))
  const fill = async () => {
    const res = await call<Cluster>("GET", "instances")
    box.replaceChildren(
      ...(res.ok
        ? render(res.body)
        : [h("p", { class: "alert alert-error", text: errorText("Loading the instances", res) })]),
    )
  }
  void fill()
  clearInterval(timer)
  timer = setInterval(() => {
    if (box.isConnected) void fill()
    else clearInterval(timer)
  }, RefreshMs)
  return box
}
