// Trigger and Cancel for one job type, each behind an in-page confirmation (no blocking dialogs).
import { type AlreadyRunning, call, errorText, type Triggered } from "./api.js"
import { h } from "./dom.js"
import { notify } from "./feedback.js"
import { state } from "./state.js"
import { enc, parseLocation, typeHref } from "./urls.js"

/** What runs after a trigger or cancel: the router's refresh (main.ts connects the two). */
let refresh: (type: string) => Promise<void> = async () => {}
export const afterActions = (f: (type: string) => Promise<void>) => {
  refresh = f
}

const trigger = async (type: string) => {
  const res = await call<Triggered>("POST", `jobs/${enc(type)}`, 201)
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
  const key = `${type}|${state.readOnly}`
  if (actions?.key !== key) actions = { key, el: actionButtons(type) }
  return actions.el
}
