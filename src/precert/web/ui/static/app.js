// precert UI behaviour that needs a script (everything else is plain forms and htmx).
// Kept in a file, not inline, so the Content-Security-Policy can forbid inline scripts.
"use strict";

// New-request form: add another service line from the <template>, numbered after the last one.
function addServiceLine(button) {
  const list = document.getElementById(button.dataset.target);
  const template = document.getElementById(button.dataset.template);
  const indexes = Array.from(list.querySelectorAll("[data-line-index]"))
    .map((el) => Number(el.dataset.lineIndex));
  const next = indexes.length ? Math.max(...indexes) + 1 : 0;
  const html = template.innerHTML.replaceAll("__INDEX__", String(next))
    .replaceAll("__NUMBER__", String(next + 1));
  list.insertAdjacentHTML("beforeend", html);
  const added = list.querySelector(`[data-line-index="${next}"] input, [data-line-index="${next}"] select`);
  if (added) added.focus();
  if (window.htmx) window.htmx.process(list);
}

// Request page: copy the patient link to the clipboard and say so to screen readers too.
function copyText(button) {
  const source = document.getElementById(button.dataset.copy);
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const status = document.getElementById(button.dataset.status);
    if (status) status.textContent = "Copied.";
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  if (button.dataset.action === "add-line") addServiceLine(button);
  if (button.dataset.action === "copy") copyText(button);
});

// Task list: one box ticks or clears every task box of its form.
document.addEventListener("change", (event) => {
  const box = event.target.closest("input[data-action='tick-all']");
  if (!box) return;
  for (const task of box.form.querySelectorAll("input[name='task']")) task.checked = box.checked;
});
