// The feedback area: the latest five messages about what the user did, newest first.
import { $, h } from "./dom.js"

export const notify = (
  kind: "success" | "warning" | "error",
  text: string,
  link?: { readonly href: string; readonly text: string },
) => {
  const alert: HTMLDivElement = h(
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
  while (box.children.length > 5) box.lastElementChild!.remove()
}
