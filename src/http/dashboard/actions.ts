// Trigger, Cancel and Pause/Resume for one job type, each behind an in-page confirmation (no
// blocking dialogs); a pause asks for its note in the same place.
import {
  type AlreadyRunning,
  type BackfillPlan,
  call,
  errorText,
  type PauseState,
  type Triggered,
} from "./api.js"
import { h } from "./dom.js"
import { notify } from "./feedback.js"
import { state } from "./state.js"
import { enc, parseLocation, typeHref } from "./urls.js"

/** What runs after a trigger or cancel: the router's refresh (main.ts connects the two). */
let refresh: (type: string) => Promise<void> = async () => {}
export const afterActions = (f: (type: string) => Promise<void>) => {
  refresh = f
}

const trigger = async (type: string, params?: unknown) => {
  const res = await call<Triggered>(
    "POST",
    `jobs/${enc(type)}`,
    201,
    params === undefined ? undefined : { params },
  )
  if (res.ok) {
    const [t, id] = parseLocation(res.location) ?? [type, res.body?.jobId]
    notify("success", `Started ${type}: execution ${id}.`, { href: typeHref(t, id), text: "Show" })
  } else if (res.status === 409) {
    const holder = res.body as AlreadyRunning | null
    const [t, id] = parseLocation(res.location) ?? [String(holder?.holderJobType), holder?.holderJobId]
    notify("warning", `${type} is already running: its lock is held by ${t} execution ${id}.`, {
      href: typeHref(t, id),
      text: "Show the holder",
    })
  } else notify("error", errorText(`Trigger ${type}`, res))
  await refresh(type)
}

const cancel = async (type: string) => {
  const res = await call("DELETE", `jobs/${enc(type)}`)
  if (res.ok) notify("success", `Cancel requested for ${type}; the running execution stops shortly.`)
  else notify("error", errorText(`Cancel ${type}`, res))
  await refresh(type)
}

const pause = async (type: string, note: string) => {
  const res = await call<PauseState>("POST", `jobs/${enc(type)}/pause`, 200, { note })
  if (res.ok)
    notify("success", `Paused ${type} on every instance: no scheduled run starts until it is resumed.`)
  else notify("error", errorText(`Pause ${type}`, res))
  await refresh(type)
}

const resume = async (type: string) => {
  const res = await call<PauseState>("POST", `jobs/${enc(type)}/resume`)
  if (res.ok) notify("success", `Resumed ${type}: its scheduled runs start again.`)
  else notify("error", errorText(`Resume ${type}`, res))
  await refresh(type)
}

/** Asks for a backfill's plan (`dryRun`) or starts it; the plan, or null after an error (notified). */
const backfill = async (type: string, from: string, to: string, dryRun: boolean) => {
  const res = await call<BackfillPlan>("POST", `jobs/${enc(type)}/backfill`, 200, { from, to, dryRun })
  if (!res.ok) {
    notify("error", errorText(`Backfill ${type}`, res))
    return null
  }
  if (!dryRun) {
    notify(
      "success",
      `Backfill of ${type} started: ${res.body.toRun} slots run one after another (${res.body.alreadyClaimed} already claimed, skipped).`,
    )
    await refresh(type)
  }
  return res.body
}

const hasCron = (type: string) => Boolean(state.summaries.get(type)?.cron)

const isPaused = (type: string) => Boolean(state.summaries.get(type)?.paused)

/** The JSON Schema of the job's params (GET /jobs/:jobType), or null: the job takes none. */
const paramsSchemaOf = (type: string) => (state.summaries.get(type)?.params ?? null) as JsonSchema | null

interface JsonSchema {
  readonly type?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
}

/** A starting point for the editor: the required properties, each with a value of its type. */
const skeleton = (schema: JsonSchema): unknown => {
  if (schema.enum !== undefined && schema.enum.length > 0) return schema.enum[0]
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        (schema.required ?? []).map((k) => [k, skeleton(schema.properties?.[k] ?? {})]),
      )
    case "array":
      return []
    case "string":
      return ""
    case "number":
    case "integer":
      return 0
    case "boolean":
      return false
    default:
      return null
  }
}

/** The buttons; a box kept across live re-renders of its job type, so an open confirmation survives them. */
const actionButtons = (type: string) => {
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
        onclick:
          paramsSchemaOf(type) === null
            ? ask("Trigger", `Trigger ${type} now? Are you sure?`, trigger, false)
            : askParams,
      }),
      h("button", {
        type: "button",
        class: "btn btn-danger cancel",
        disabled,
        title,
        text: "Cancel",
        onclick: ask("Cancel", `Cancel the running ${type}? Are you sure?`, cancel, true),
      }),
      ...(hasCron(type)
        ? [
            h("button", {
              type: "button",
              class: "btn btn-light backfill",
              disabled,
              title,
              text: "Backfill",
              onclick: askRange,
            }),
          ]
        : []),
      isPaused(type)
        ? h("button", {
            type: "button",
            class: "btn resume",
            disabled,
            title,
            text: "Resume",
            onclick: ask("Resume", `Resume ${type} on every instance?`, resume, false),
          })
        : h("button", {
            type: "button",
            class: "btn btn-light pause",
            disabled,
            title,
            text: "Pause",
            onclick: askNote,
          }),
    )
  /**
   * A job with params: Trigger opens a JSON editor, prefilled from the params' JSON Schema. Text
   * that does not parse stays in the editor with the parser's message; the server checks the rest
   * against the job's schema (its 400 names the field).
   */
  const askParams = () => {
    const schema = paramsSchemaOf(type) ?? {}
    const editor = h("textarea", {
      class: "params-editor",
      rows: 6,
      spellcheck: "false",
      "aria-label": `Params of ${type} (JSON)`,
    }) as HTMLTextAreaElement
    editor.value = JSON.stringify(skeleton(schema), null, 2)
    const problem = h("span", { class: "params-problem", role: "alert" })
    const fields = Object.entries(schema.properties ?? {})
      .map(
        ([k, v]) =>
          `${k}${(schema.required ?? []).includes(k) ? "" : "?"}: ${v.enum ? v.enum.map(String).join(" | ") : (v.type ?? "any")}`,
      )
      .join(", ")
    box.replaceChildren(
      h(
        "span",
        { class: "confirm params" },
        h("span", { text: `Trigger ${type} now with these params (JSON)?` }),
        h("small", { class: "muted params-fields", text: fields }),
        editor,
        problem,
        h("button", {
          type: "button",
          class: "btn confirm-yes",
          text: "Yes, trigger",
          onclick: async (e: Event) => {
            let params: unknown
            try {
              params = JSON.parse(editor.value)
            } catch (error) {
              problem.textContent = `Not JSON: ${error instanceof Error ? error.message : String(error)}`
              return
            }
            ;(e.target as HTMLButtonElement).disabled = true
            buttons()
            await trigger(type, params)
          },
        }),
        h("button", { type: "button", class: "btn btn-light confirm-no", text: "No", onclick: buttons }),
      ),
    )
    editor.focus()
  }
  /**
   * Backfill asks for the range (ISO-8601, UTC: the last 7 days by default), previews it (a dry run:
   * each slot and whether it would run), and only then offers to run it.
   */
  const askRange = () => {
    const now = new Date()
    const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`
    const input = (cls: string, value: string, label: string) => {
      const el = h("input", { type: "text", class: cls, "aria-label": label }) as HTMLInputElement
      el.value = value
      return el
    }
    const from = input("backfill-from", iso(new Date(now.getTime() - 7 * 86_400_000)), "From (ISO-8601)")
    const to = input("backfill-to", iso(now), "To (ISO-8601)")
    const preview = h("div", { class: "backfill-plan" })
    const run = h("button", {
      type: "button",
      class: "btn btn-danger confirm-yes backfill-run",
      text: "Run backfill",
      disabled: true,
      onclick: async (e: Event) => {
        ;(e.target as HTMLButtonElement).disabled = true
        const started = await backfill(type, from.value, to.value, false)
        if (started) buttons()
      },
    }) as HTMLButtonElement
    const showPlan = async () => {
      run.disabled = true
      const plan = await backfill(type, from.value, to.value, true)
      if (plan === null) return preview.replaceChildren()
      preview.replaceChildren(
        h("p", {
          class: "backfill-summary",
          text: `${plan.slots.length} slots: ${plan.toRun} to run, ${plan.alreadyClaimed} already claimed (skipped).`,
        }),
        h(
          "ul",
          { class: "backfill-slots" },
          plan.slots.map((s) =>
            h("li", {
              dataset: { action: s.action },
              text: `${s.slot} ${s.action === "run" ? "runs" : `skipped: claimed by ${s.claimedBy ?? "?"}`}`,
            }),
          ),
        ),
      )
      run.disabled = plan.toRun === 0
    }
    box.replaceChildren(
      h(
        "span",
        { class: "confirm params backfill-form" },
        h("span", { text: `Backfill ${type}: run the past slots in this range that did not run (UTC)` }),
        h("label", { text: "From " }, from),
        h("label", { text: "To " }, to),
        h("button", { type: "button", class: "btn backfill-preview", text: "Preview", onclick: showPlan }),
        preview,
        run,
        h("button", { type: "button", class: "btn btn-light confirm-no", text: "Close", onclick: buttons }),
      ),
    )
    from.focus()
  }
  /** Pause asks why: the note everyone sees next to the job while it is paused. */
  const askNote = () => {
    const note = h("input", {
      type: "text",
      class: "pause-note",
      maxlength: 500,
      placeholder: "Why? (shown on the job while paused)",
      "aria-label": "Why the job is paused",
    }) as HTMLInputElement
    box.replaceChildren(
      h(
        "span",
        { class: "confirm" },
        h("span", { text: `Pause ${type} on every instance?` }),
        note,
        h("button", {
          type: "button",
          class: "btn btn-danger confirm-yes",
          text: "Yes, pause",
          onclick: async (e: Event) => {
            ;(e.target as HTMLButtonElement).disabled = true
            const text = note.value
            buttons()
            await pause(type, text)
          },
        }),
        h("button", { type: "button", class: "btn btn-light confirm-no", text: "No", onclick: buttons }),
      ),
    )
    note.focus()
  }
  const ask = (verb: string, question: string, run: (type: string) => Promise<void>, danger: boolean) => () =>
    box.replaceChildren(
      h(
        "span",
        { class: "confirm" },
        h("span", { text: question }),
        h("button", {
          type: "button",
          class: `btn confirm-yes${danger ? " btn-danger" : ""}`,
          text: `Yes, ${verb.toLowerCase()}`,
          onclick: async (e: Event) => {
            ;(e.target as HTMLButtonElement).disabled = true
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

let actions: { readonly key: string; readonly el: HTMLElement } | undefined

/** The job type's buttons, the same element while the type and read-only mode stay. */
export const actionsFor = (type: string): HTMLElement => {
  const key = `${type}|${state.readOnly}|${isPaused(type)}|${paramsSchemaOf(type) !== null}|${hasCron(type)}`
  if (actions?.key !== key) actions = { key, el: actionButtons(type) }
  return actions.el
}
