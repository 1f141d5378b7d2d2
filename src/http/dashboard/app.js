// The ha-jobs dashboard: plain DOM, no dependencies. Everything from the server is put into the
// page with textContent (never innerHTML), so job content, reasons and messages stay text.
;(() => {
  // URLs are relative to this page, so the dashboard works wherever the app is mounted.
  const base = (() => {
    const path = location.pathname.replace(/\/jobsOverview\/?$/, "/")
    return path.endsWith("/") ? path : `${path}/`
  })()
  const url = (path) => base + path
  const enc = encodeURIComponent
  const tokenKey = `ha-jobs.token:${base}`
  const PAGE_SIZES = [20, 50, 100]

  const state = {
    types: [],
    readOnly: false,
    summaries: new Map(), // jobType -> list response (limit 1): latest, cron, nextRuns
    view: { type: null, jobId: null },
    page: { type: null, cursors: [undefined], limit: 20, data: null },
    storeDown: null,
  }

  // ---- small DOM helpers -------------------------------------------------------------------
  const $ = (id) => document.getElementById(id)
  // The fields of one execution, in order: the server puts the list it derives from the status
  // definition (src/domain/StatusFields.ts) into the page as JSON data (not a script: no CSP entry).
  const statusFields = JSON.parse($("status-fields").textContent)
  /** Builds an element; string children become text nodes. */
  const h = (tag, props, ...children) => {
    const el = document.createElement(tag)
    for (const [key, value] of Object.entries(props ?? {})) {
      if (value === undefined || value === null || value === false) continue
      if (key === "class") el.className = value
      else if (key === "text") el.textContent = String(value)
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value)
      else if (key === "dataset") Object.assign(el.dataset, value)
      else el.setAttribute(key, value === true ? "" : String(value))
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue
      el.append(
        typeof child === "string" || typeof child === "number"
          ? document.createTextNode(String(child))
          : child,
      )
    }
    return el
  }
  const svg = (tag, attrs, ...children) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag)
    for (const [key, value] of Object.entries(attrs ?? {})) {
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value)
      else el.setAttribute(key, String(value))
    }
    for (const child of children)
      el.append(typeof child === "string" ? document.createTextNode(child) : child)
    return el
  }
  const setMain = (...children) =>
    $("main").replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false))
  const stateClass = (s) => (s && /^[A-Z_]+$/.test(s) ? `s-${s}` : "")
  const badge = (s, fallback = "NO RUNS") =>
    h("span", { class: `badge ${stateClass(s)}`, text: s ?? fallback })
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "–")
  const timeEl = (iso) => h("time", { datetime: iso, title: iso, text: fmtTime(iso) })
  const shortId = (id) => (id ? `${id.slice(0, 8)}…${id.slice(-4)}` : "")
  const typeHref = (type, jobId) => `#/type/${enc(type)}${jobId ? `/${enc(jobId)}` : ""}`

  // ---- token ---------------------------------------------------------------------------------
  const storage = {
    get: () => {
      try {
        return localStorage.getItem(tokenKey)
      } catch {
        return null
      }
    },
    set: (v) => {
      try {
        if (v) localStorage.setItem(tokenKey, v)
        else localStorage.removeItem(tokenKey)
      } catch {}
    },
  }
  let token = storage.get()
  let tokenChanged = () => {}
  const showTokenPanel = (message) => {
    $("token-panel").hidden = false
    $("token-message").textContent = message ?? ""
    $("token-input").focus()
  }

  // ---- API -----------------------------------------------------------------------------------
  const headers = (extra) => ({ ...extra, ...(token ? { authorization: `Bearer ${token}` } : {}) })
  /** One request; never throws: { status, body, location } with status 0 on network errors. */
  const call = async (method, path) => {
    try {
      const res = await fetch(url(path), {
        method,
        headers: headers({ accept: "application/json" }),
        cache: "no-store",
      })
      let body = null
      try {
        body = await res.json()
      } catch {}
      if (res.status === 401)
        showTokenPanel(body?.message ? `The server said: ${body.message}` : "A token is required.")
      return { status: res.status, body, location: res.headers.get("location") }
    } catch (e) {
      return { status: 0, body: { message: String(e?.message ?? e) }, location: null }
    }
  }
  const errorText = (what, res) => {
    const message = res.body?.message ?? ""
    switch (res.status) {
      case 0:
        return `${what}: network error (${message})`
      case 401:
        return `${what}: not authorized (${message}). Set the API token.`
      case 403:
        return `${what}: forbidden (${message})`
      case 404:
        return `${what}: not found (${message})`
      case 503:
        return `${what}: the store is unavailable (${message})`
      default:
        return `${what}: HTTP ${res.status}${message ? ` (${message})` : ""}`
    }
  }

  // ---- feedback ------------------------------------------------------------------------------
  const notify = (kind, text, link) => {
    const alert = h(
      "div",
      { class: `alert alert-${kind}`, dataset: { kind } },
      h("span", { class: "text", text }),
      link ? h("a", { href: link.href, text: link.text }) : null,
      h("button", {
        class: "close",
        type: "button",
        title: "Dismiss",
        text: "×",
        onclick: () => alert.remove(),
      }),
    )
    const box = $("feedback")
    box.prepend(alert)
    while (box.children.length > 5) box.lastElementChild.remove()
  }
  /** "/base/jobs/<type>/<id>" -> [type, id] */
  const parseLocation = (location) => {
    const m = /\/jobs\/([^/?#]+)\/([^/?#]+)$/.exec(location ?? "")
    return m ? [decodeURIComponent(m[1]), decodeURIComponent(m[2])] : null
  }

  // ---- actions -------------------------------------------------------------------------------
  const trigger = async (type) => {
    const res = await call("POST", `jobs/${enc(type)}`)
    if (res.status === 201) {
      const [t, id] = parseLocation(res.location) ?? [type, res.body?.jobId]
      notify("success", `Started ${type}: execution ${id}.`, { href: typeHref(t, id), text: "Show" })
    } else if (res.status === 409) {
      const [t, id] = parseLocation(res.location) ?? [res.body?.holderJobType, res.body?.holderJobId]
      notify("warning", `${type} is already running: its lock is held by ${t} execution ${id}.`, {
        href: typeHref(t, id),
        text: "Show the holder",
      })
    } else notify("error", errorText(`Trigger ${type}`, res))
    await refreshType(type)
  }
  const cancel = async (type) => {
    const res = await call("DELETE", `jobs/${enc(type)}`)
    if (res.status === 200)
      notify("success", `Cancel requested for ${type}; the running execution stops shortly.`)
    else notify("error", errorText(`Cancel ${type}`, res))
    await refreshType(type)
  }
  /**
   * Trigger/Cancel with an in-page confirmation (no blocking dialogs). The box is kept across
   * live re-renders of its job type, so an open confirmation survives them.
   */
  const actionButtons = (type) => {
    const box = h("div", { class: "actions" })
    const disabled = state.readOnly
    const title = disabled ? "read-only mode" : undefined
    const buttons = () =>
      box.replaceChildren(
        h("button", {
          type: "button",
          class: "btn trigger",
          disabled,
          title,
          text: "Trigger",
          onclick: ask("Trigger", `Trigger ${type} now? Are you sure?`, trigger, false),
        }),
        h("button", {
          type: "button",
          class: "btn btn-danger cancel",
          disabled,
          title,
          text: "Cancel",
          onclick: ask("Cancel", `Cancel the running ${type}? Are you sure?`, cancel, true),
        }),
      )
    const ask = (verb, question, run, danger) => () =>
      box.replaceChildren(
        h(
          "span",
          { class: "confirm" },
          h("span", { text: question }),
          h("button", {
            type: "button",
            class: `btn confirm-yes${danger ? " btn-danger" : ""}`,
            text: `Yes, ${verb.toLowerCase()}`,
            onclick: async (e) => {
              e.target.disabled = true
              buttons()
              await run(type)
            },
          }),
          h("button", { type: "button", class: "btn btn-light confirm-no", text: "No", onclick: buttons }),
        ),
      )
    buttons()
    return box
  }
  let actions = { key: null, el: null }
  const actionsFor = (type) => {
    const key = `${type}|${state.readOnly}`
    if (actions.key !== key) actions = { key, el: actionButtons(type) }
    return actions.el
  }

  // ---- data ----------------------------------------------------------------------------------
  const loadSummary = async (type) => {
    const res = await call("GET", `jobs/${enc(type)}?limit=1`)
    if (res.status === 200) state.summaries.set(type, res.body)
    return res
  }
  const loadTypes = async () => {
    const res = await call("GET", "jobs")
    if (res.status !== 200) {
      setMain(h("p", { class: "alert alert-error", text: errorText("Loading job types", res) }))
      return false
    }
    state.types = res.body.jobTypes
    state.readOnly = res.body.readOnly === true
    $("read-only").hidden = !state.readOnly
    await Promise.all(state.types.map(loadSummary))
    return true
  }

  // ---- views ---------------------------------------------------------------------------------
  const renderTabs = () => {
    const current = state.view.type
    const tab = (href, label, active, st) =>
      h(
        "a",
        { href, class: active ? "active" : "", dataset: { tab: label } },
        st !== undefined ? h("span", { class: `dot ${stateClass(st)}` }) : null,
        label,
      )
    $("tabs").replaceChildren(
      tab("#/", "Overview", current === null),
      ...state.types.map((t) =>
        tab(typeHref(t), t, current === t, state.summaries.get(t)?.jobs?.[0]?.jobState ?? null),
      ),
    )
  }

  const scheduleText = (summary) =>
    summary?.cron
      ? `${summary.cronDescription ?? summary.cron}${summary.timeZone && summary.timeZone !== "UTC" ? ` (${summary.timeZone})` : summary.timeZone ? " (UTC)" : ""}`
      : "no cron expression set"

  const renderCard = (type) => {
    const summary = state.summaries.get(type)
    const latest = summary?.jobs?.[0]
    return h(
      "article",
      { class: `card ${stateClass(latest?.jobState)}`, dataset: { type } },
      h(
        "h3",
        {},
        h("a", { href: typeHref(type), text: type }),
        badge(latest?.jobState),
        latest ? badge(latest.jobResult) : null,
      ),
      h(
        "dl",
        {},
        h("dt", { text: "Latest" }),
        h(
          "dd",
          {},
          latest
            ? h("a", { class: "mono", href: typeHref(type, latest.jobId), text: shortId(latest.jobId) })
            : "–",
        ),
        h("dt", { text: "Updated" }),
        h("dd", {}, latest ? timeEl(latest.jobStatusTs) : "–"),
        h("dt", { text: "Duration" }),
        h("dd", { text: latest?.duration ?? "–" }),
        latest?.reason ? h("dt", { text: "Reason" }) : null,
        latest?.reason ? h("dd", { class: "reason", text: latest.reason }) : null,
        h("dt", { text: "Schedule" }),
        h("dd", { class: "schedule", text: scheduleText(summary) }),
        summary?.nextRuns?.length ? h("dt", { text: "Next run" }) : null,
        summary?.nextRuns?.length ? h("dd", {}, timeEl(summary.nextRuns[0])) : null,
      ),
    )
  }

  const renderOverview = () => {
    setMain(
      h("h2", { text: "Latest executions" }),
      state.types.length === 0 ? h("p", { class: "muted", text: "No job types are registered." }) : null,
      h("div", { class: "cards", id: "cards" }, state.types.map(renderCard)),
    )
  }

  /** A JSON value as a collapsible tree; long strings fold too. */
  const jsonTree = (value, key, depth = 0) => {
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
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value)
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

  /**
   * Recent executions on a time axis (one bar from start to last status; running ones reach now),
   * packed into a few lanes; positions are percentages, so the chart follows the page width.
   */
  const timeline = (jobs) => {
    const wrap = h("div", { class: "timeline", id: "timeline" })
    if (jobs.length === 0) return wrap
    const now = Date.now()
    const spans = jobs
      .map((j) => {
        const start = Date.parse(j.startTime)
        const last = Date.parse(j.jobStatusTs)
        const end = j.jobResult === "PENDING" ? Math.max(now, last) : last
        return { j, start, end: Math.max(end, start) }
      })
      .sort((a, b) => a.start - b.start)
    const min = Math.min(...spans.map((s) => s.start))
    const max = Math.max(...spans.map((s) => s.end), min + 60_000)
    const pct = (t) => 1 + ((t - min) / (max - min)) * 98
    const lanes = [] // the right edge (in %) of each lane's last bar
    const placed = spans.map((s) => {
      const x = pct(s.start)
      const w = Math.max(0.4, pct(s.end) - x)
      let lane = lanes.findIndex((end) => end + 0.2 <= x)
      if (lane < 0 && lanes.length < 4) lane = lanes.push(0) - 1
      if (lane < 0) lane = lanes.indexOf(Math.min(...lanes))
      lanes[lane] = x + w
      return { ...s, x, w, lane }
    })
    const laneH = 22
    const top = 4
    const plot = top + lanes.length * laneH
    const height = plot + 18
    const range = max - min
    const hm = { hour: "2-digit", minute: "2-digit" }
    const label = (t) =>
      range < 3_600_000
        ? new Date(t).toLocaleTimeString([], { ...hm, second: "2-digit" })
        : range < 86_400_000
          ? new Date(t).toLocaleTimeString([], hm)
          : new Date(t).toLocaleString([], { month: "short", day: "numeric", ...hm })
    const chart = svg("svg", {
      width: "100%",
      height,
      role: "img",
      "aria-label": "Timeline of recent executions",
    })
    for (let i = 0; i <= 4; i++) {
      const t = min + ((max - min) * i) / 4
      const x = `${pct(t)}%`
      chart.append(
        svg("line", { x1: x, x2: x, y1: 0, y2: plot, class: "tick" }),
        svg(
          "text",
          { x, y: height - 4, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" },
          label(t),
        ),
      )
    }
    for (const s of placed) {
      const rect = svg("rect", {
        class: `bar ${stateClass(s.j.jobState)}`,
        x: `${s.x}%`,
        y: top + s.lane * laneH,
        width: `${s.w}%`,
        height: laneH - 6,
        rx: 3,
        onclick: () => {
          location.hash = typeHref(s.j.jobType, s.j.jobId)
        },
      })
      rect.append(
        svg("title", {}, `${s.j.jobState} · ${new Date(s.start).toLocaleString()} · ${s.j.duration}`),
      )
      chart.append(rect)
    }
    wrap.append(chart)
    return wrap
  }

  const historyTable = (type, jobs) =>
    h(
      "table",
      { id: "history" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Execution", "State", "Result", "Started", "Duration", "Source", "Attempt", "Reason"].map((c) =>
            h("th", { text: c }),
          ),
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

  const renderDetails = async (type, jobId) => {
    const box = h(
      "div",
      { class: "section", id: "details", dataset: { jobId } },
      h("h2", { text: `Execution ${jobId}` }),
    )
    const [status, history] = await Promise.all([
      call("GET", `jobs/${enc(type)}/${enc(jobId)}`),
      call("GET", `jobs/${enc(type)}/${enc(jobId)}/history`),
    ])
    if (status.status !== 200) {
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
            h("dd", { class: `f-${f}` }, f === "jobState" || f === "jobResult" ? badge(s[f]) : String(s[f])),
          ]),
      ),
      h("h2", { text: "Content" }),
      s.content === undefined
        ? h("p", { class: "muted", text: "no content" })
        : h("ul", { class: "tree", id: "content" }, jsonTree(s.content)),
    )
    if (history.status === 200)
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
          h(
            "tbody",
            {},
            history.body.history.map((st) =>
              h(
                "tr",
                {},
                h("td", {}, timeEl(st.jobStatusTs)),
                h("td", {}, badge(st.jobState)),
                h("td", { class: "reason", text: st.reason ?? "" }),
              ),
            ),
          ),
        ),
      )
    return box
  }

  let renderSeq = 0
  /** `keepDetails`: reuse the open execution's panel (live updates about other executions). */
  const renderType = async (type, jobId, keepDetails = false) => {
    const seq = ++renderSeq
    const page =
      state.page.type === type
        ? state.page
        : { type, cursors: [undefined], limit: state.page.limit, data: null }
    state.page = page
    const before = page.cursors.at(-1)
    const [list] = await Promise.all([
      call("GET", `jobs/${enc(type)}?limit=${page.limit}${before ? `&before=${enc(before)}` : ""}`),
      before === undefined ? Promise.resolve() : loadSummary(type),
    ])
    const shown = document.getElementById("details")
    const details = !jobId
      ? null
      : keepDetails && shown?.dataset.jobId === jobId
        ? shown
        : await renderDetails(type, jobId)
    if (seq !== renderSeq) return // a newer render started meanwhile
    if (list.status !== 200) {
      // A failed refresh keeps what is shown (the live pill tells about the store); only an
      // empty view shows the error instead.
      if (document.getElementById("type-header")?.dataset.type !== type)
        setMain(h("p", { class: "alert alert-error", text: errorText(`Loading ${type}`, list) }))
      return
    }
    page.data = list.body
    if (before === undefined) state.summaries.set(type, { ...list.body, jobs: list.body.jobs.slice(0, 1) })
    renderTabs()
    const summary = state.summaries.get(type)
    const latest = summary?.jobs?.[0]
    const jobs = list.body.jobs
    setMain(
      h(
        "div",
        { class: "section", id: "type-header", dataset: { type } },
        h("h2", {}, `${type} `, badge(latest?.jobState)),
        actionsFor(type),
      ),
      h(
        "div",
        { class: "section", id: "schedule" },
        h("h2", { text: "Schedule" }),
        summary?.cron
          ? h(
              "p",
              {},
              h("code", { text: `[ ${summary.cron} ]` }),
              " ",
              h("span", { class: "cron-text", text: scheduleText(summary) }),
            )
          : h("p", { class: "muted", text: "no cron expression set" }),
        summary?.nextRuns?.length
          ? h(
              "ol",
              { class: "next-runs" },
              summary.nextRuns.map((r) => h("li", {}, timeEl(r))),
            )
          : null,
      ),
      h(
        "div",
        { class: "section" },
        h("h2", { text: "Timeline" }),
        jobs.length ? timeline(jobs) : h("p", { class: "muted", text: "no executions yet" }),
      ),
      h(
        "div",
        { class: "section" },
        h("h2", { text: "History" }),
        jobs.length
          ? historyTable(type, jobs)
          : h("p", { class: "muted", id: "history-empty", text: "no executions on this page" }),
        h(
          "div",
          { class: "pager" },
          h("button", {
            type: "button",
            class: "btn btn-light newer",
            text: "‹ Newer",
            disabled: page.cursors.length <= 1,
            onclick: () => {
              page.cursors.pop()
              renderType(type, state.view.jobId)
            },
          }),
          h("button", {
            type: "button",
            class: "btn btn-light older",
            text: "Older ›",
            disabled: !list.body.next,
            onclick: () => {
              page.cursors.push(jobs.at(-1).jobId)
              renderType(type, state.view.jobId)
            },
          }),
          h("span", { class: "muted", text: `page ${page.cursors.length}` }),
          h(
            "select",
            {
              "aria-label": "Page size",
              onchange: (e) => {
                page.limit = Number(e.target.value)
                page.cursors = [undefined]
                renderType(type, state.view.jobId)
              },
            },
            PAGE_SIZES.map((n) =>
              h("option", { value: n, selected: n === page.limit, text: `${n} per page` }),
            ),
          ),
        ),
      ),
      details,
    )
  }

  const refreshType = async (type) => {
    await loadSummary(type)
    if (state.view.type === type) await renderType(type, state.view.jobId)
    else render()
  }

  const render = () => {
    renderTabs()
    if (state.view.type === null) renderOverview()
    else renderType(state.view.type, state.view.jobId)
  }

  const route = () => {
    const m = /^#\/type\/([^/]+)(?:\/([^/]+))?$/.exec(location.hash)
    const type = m ? decodeURIComponent(m[1]) : null
    state.view = {
      type: type && state.types.includes(type) ? type : null,
      jobId: m?.[2] ? decodeURIComponent(m[2]) : null,
    }
    render()
  }

  // ---- live updates: server-sent events read with fetch, so the token goes in a header -------
  const setLive = (text, kind) => {
    const el = $("live")
    el.textContent = text
    el.className = `pill ${kind ?? ""}`
  }
  const pending = new Set()
  let flushTimer = null
  const changedJobs = new Set()
  const onStatus = ({ jobType, latest }) => {
    const summary = state.summaries.get(jobType)
    if (summary) summary.jobs = latest ? [latest] : []
    pending.add(jobType)
    if (latest) changedJobs.add(latest.jobId)
    // Bursts of events are folded into one redraw.
    clearTimeout(flushTimer)
    flushTimer = setTimeout(async () => {
      const types = [...pending]
      const keepDetails = !changedJobs.has(state.view.jobId)
      pending.clear()
      changedJobs.clear()
      renderTabs()
      if (state.view.type === null) {
        await Promise.all(types.map(loadSummary)) // fresh next runs too
        if (state.view.type === null) renderOverview()
      } else if (types.includes(state.view.type) && state.page.cursors.length <= 1) {
        await renderType(state.view.type, state.view.jobId, keepDetails)
      }
    }, 150)
  }
  const onStore = ({ ok, message }) => {
    state.storeDown = ok ? null : message
    if (ok) setLive("live", "live")
    else setLive("store unavailable", "down")
    if (!ok) notify("error", message)
  }
  const handleBlock = (block) => {
    let event = "message"
    const data = []
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue
      const i = line.indexOf(":")
      const field = i < 0 ? line : line.slice(0, i)
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "")
      if (field === "event") event = value
      else if (field === "data") data.push(value)
    }
    if (data.length === 0) return
    let payload
    try {
      payload = JSON.parse(data.join("\n"))
    } catch {
      return
    }
    if (event === "status") onStatus(payload)
    else if (event === "store") onStore(payload)
  }
  let connection = null
  const listen = async () => {
    for (;;) {
      const controller = new AbortController()
      connection = controller
      try {
        setLive("connecting…")
        const res = await fetch(url("events"), {
          headers: headers({ accept: "text/event-stream" }),
          cache: "no-store",
          signal: controller.signal,
        })
        if (res.status === 401) {
          setLive("needs token", "down")
          showTokenPanel("Live updates need the API token.")
          await new Promise((resolve) => {
            tokenChanged = resolve
          })
          continue
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
        if (!state.storeDown) setLive("live", "live")
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ""
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let end = buffer.indexOf("\n\n")
          while (end >= 0) {
            handleBlock(buffer.slice(0, end))
            buffer = buffer.slice(end + 2)
            end = buffer.indexOf("\n\n")
          }
        }
      } catch {}
      if (connection === controller) {
        setLive("reconnecting…", "down")
        await new Promise((resolve) => setTimeout(resolve, 2000))
      }
    }
  }

  // ---- start ---------------------------------------------------------------------------------
  const start = async () => {
    $("host").textContent = `· ${location.hostname}`
    $("docs-link").setAttribute("href", url("docs"))
    $("token-button").addEventListener("click", () =>
      showTokenPanel(token ? "A token is set." : "No token is set."),
    )
    $("token-close").addEventListener("click", () => {
      $("token-panel").hidden = true
    })
    $("token-forget").addEventListener("click", () => {
      token = null
      storage.set(null)
      $("token-message").textContent = "Token forgotten."
    })
    $("token-form").addEventListener("submit", async (e) => {
      e.preventDefault()
      token = $("token-input").value.trim() || null
      storage.set(token)
      $("token-input").value = ""
      $("token-panel").hidden = true
      connection?.abort()
      tokenChanged()
      if (await loadTypes()) route()
    })
    window.addEventListener("hashchange", route)
    if (await loadTypes()) route()
    listen()
    // Next fire times move on; refresh the summaries now and then.
    setInterval(async () => {
      await Promise.all(state.types.map(loadSummary))
      if (state.view.type === null) renderOverview()
    }, 60_000)
  }
  start()
})()
