// Draw every Plotly figure on the page from its JSON block (no inline scripts: see the CSP).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const holder of document.querySelectorAll("[data-figure]")) {
    const source = document.getElementById(holder.dataset.figure);
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(holder, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d"],
    });
  }
});
