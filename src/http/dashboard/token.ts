// The API token: kept in this browser's localStorage (per base path), sent as a bearer token.
import { $ } from "./dom.js"
import { base } from "./urls.js"

const tokenKey = `ha-jobs.token:${base}`

const storage = {
  get: (): string | null => {
    try {
      return localStorage.getItem(tokenKey)
    } catch {
      return null
    }
  },
  set: (v: string | null) => {
    try {
      if (v) localStorage.setItem(tokenKey, v)
      else localStorage.removeItem(tokenKey)
    } catch {}
  },
}

let token = storage.get()
let changed = () => {}

/** The Authorization header, when a token is set, on top of `extra`. */
export const headers = (extra: Readonly<Record<string, string>>): Record<string, string> => ({
  ...extra,
  ...(token ? { authorization: `Bearer ${token}` } : {}),
})

/** Resolves when a token is saved next (the live updates wait for it after a 401). */
export const nextToken = () =>
  new Promise<void>((resolve) => {
    changed = resolve
  })

export const showTokenPanel = (message?: string) => {
  $("token-panel").hidden = false
  $("token-message").textContent = message ?? ""
  $("token-input").focus()
}

/** The header's Token button and the panel's form; `saved` runs after a token is saved. */
export const setUpTokenPanel = (saved: () => Promise<void>) => {
  const input = $<HTMLInputElement>("token-input")
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
    token = input.value.trim() || null
    storage.set(token)
    input.value = ""
    $("token-panel").hidden = true
    await saved()
  })
}

/** Wakes whoever waits in `nextToken`. */
export const tokenChanged = () => changed()
