// Form helpers shared by the pages: errors next to their fields, and
// forms sent through the browser client instead of a page load.
import { LatchkeyError } from "../sdk/latchkey.js";

/** Shows err next to the fields it names, or above the form. */
export function showError(form, err) {
  clearErrors(form);
  const fields = (err instanceof LatchkeyError && err.fields) || {};
  let named = false;
  for (const [name, msg] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const slot = input && document.getElementById(input.id + "-error");
    if (!slot) continue;
    slot.textContent = msg;
    input.setAttribute("aria-invalid", "true");
    if (!named) input.focus();
    named = true;
  }
  if (!named) {
    const box = document.getElementById("form-error");
    box.textContent = err.message || "Something went wrong. Please try again.";
    box.hidden = false;
  }
}

/** Removes the messages showError put up. */
export function clearErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const slot = document.getElementById(input.id + "-error");
    if (slot) slot.textContent = "";
  }
  const box = document.getElementById("form-error");
  if (box) {
    box.textContent = "";
    box.hidden = true;
  }
}

/** Sends form through fn with its values, disabling it meanwhile. */
export function enhance(form, fn) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      clearErrors(form);
      await fn(Object.fromEntries(new FormData(form)));
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
    }
  });
}

