// Bar charts with Chart.js (canvas), each beside a table of the same numbers: the table is
// what a screen reader and a keyboard user get, and what a click on a bar also offers.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import { h } from "./dom.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);
Chart.defaults.font.family = "system-ui, sans-serif";
Chart.defaults.color = "#1f2933";

const BAR = "#2f5fb3";

// {id, title, rows: [{label, value, note?}], horizontal?, onPick(row)} -> a figure element;
// returns [element, destroy].
export function barChart({ id, title, rows, horizontal = false, onPick, valueLabel = "Summaries" }) {
  const canvas = h("canvas", { role: "img", "aria-label": `${title}: chart; the table below has the numbers` });
  const figure = h("figure", { class: "chart", id, "data-points": rows.length },
    h("figcaption", {}, h("h2", {}, title)),
    h("div", { class: "canvas-box" }, canvas),
    dataTable(title, rows, onPick, valueLabel));
  if (!rows.length) {
    figure.querySelector(".canvas-box").replaceChildren(h("p", { class: "empty" }, "Nothing in this range."));
    return [figure, () => {}];
  }
  const chart = new Chart(canvas, {
    type: "bar",
    data: { labels: rows.map((r) => r.label), datasets: [{ label: valueLabel, data: rows.map((r) => r.value),
      backgroundColor: BAR, borderRadius: 2 }] },
    options: {
      indexAxis: horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: {
        afterLabel: (item) => rows[item.dataIndex].note || "" } } },
      scales: {
        [horizontal ? "x" : "y"]: { beginAtZero: true, ticks: { precision: 0 } },
        // Long titles are cut on the axis; the tooltip and the table have them whole.
        [horizontal ? "y" : "x"]: { ticks: { callback(value) { return short(this.getLabelForValue(value)); } } },
      },
      onHover: (event, elements) => { event.native.target.style.cursor = elements.length && onPick ? "pointer" : ""; },
      onClick: (_event, elements) => {
        if (elements.length && onPick) onPick(rows[elements[0].index]);
      },
    },
  });
  return [figure, () => chart.destroy()];
}

function short(label, most = 26) {
  return label.length > most ? `${label.slice(0, most - 1)}…` : label;
}

function dataTable(title, rows, onPick, valueLabel) {
  const notes = rows.some((r) => r.note);
  return h("details", { class: "numbers" }, h("summary", {}, "Numbers"),
    h("table", {}, h("caption", { class: "visually-hidden" }, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Group"), h("th", { scope: "col" }, valueLabel),
        notes ? h("th", { scope: "col" }, "Note") : null)),
      h("tbody", {}, rows.map((row) => h("tr", {},
        h("th", { scope: "row" }, onPick ? h("a", { href: "#", onclick: (event) => {
          event.preventDefault();
          onPick(row);
        } }, row.label) : row.label),
        h("td", { class: "number" }, row.value.toLocaleString()),
        notes ? h("td", {}, row.note || "") : null)))));
}
