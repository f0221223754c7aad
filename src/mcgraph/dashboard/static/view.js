// Drawing the dashboard from its state. Every piece of data goes in as text (text nodes,
// textContent, attributes): nothing from the API is ever parsed as markup.

import { cycleTimeChart } from "./chart.js";

/** An element with attributes and children; strings become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

const HEALTH = { ON_TRACK: "on track", AT_RISK: "at risk", OFF_TRACK: "off track" };

function badge(health) {
  return el("span", { class: `health ${health.toLowerCase()}` }, HEALTH[health] || health);
}

function reasons(list) {
  if (!list.length) return null;
  return el("ul", { class: "reasons" }, ...list.map((r) => el("li", { class: r.health?.toLowerCase() }, r.message)));
}

function percent(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)}%`;
}

function hours(value) {
  if (value === null || value === undefined) return "–";
  return value >= 48 ? `${(value / 24).toFixed(1)} days` : `${value.toFixed(1)} h`;
}

function progress(share) {
  const bar = el("span", { class: "bar" }, el("span", { class: "fill" }));
  bar.firstChild.style.width = `${Math.round(share * 100)}%`; // CSSOM, not a style attribute: allowed by the CSP
  return el("span", { class: "progress" }, bar, el("span", { class: "share" }, percent(share)));
}

export function renderTiles(portfolio, overdueRuns) {
  const counts = Object.fromEntries(portfolio.byHealth.map((row) => [row.health, row.count]));
  document.getElementById("on-track").textContent = counts.ON_TRACK ?? 0;
  document.getElementById("at-risk").textContent = counts.AT_RISK ?? 0;
  document.getElementById("off-track").textContent = counts.OFF_TRACK ?? 0;
  document.getElementById("overdue-tasks").textContent = portfolio.overdueTasks;
  document.getElementById("overdue-runs").textContent = overdueRuns;
}

export function renderAttention(portfolio) {
  const items = [
    ...portfolio.offTrack.map((p) => ["project", p]),
    ...portfolio.atRisk.map((p) => ["project", p]),
    ...portfolio.processesOffTrack.map((p) => ["process", p]),
    ...portfolio.processesAtRisk.map((p) => ["process", p]),
  ];
  const list = items.map(([kind, item]) =>
    el("li", { "data-key": item.key },
      badge(item.health.health),
      el("span", { class: "what" }, el("strong", {}, item.key), ` ${item.name}`, el("span", { class: "kind" }, kind)),
      reasons(item.health.reasons)));
  if (!list.length) list.push(el("li", { class: "quiet" }, "Every project and process is on track."));
  document.getElementById("attention").replaceChildren(...list);
}

export function renderProjects(projects) {
  const rows = projects.map((p) =>
    el("tr", { "data-key": p.key },
      el("td", {}, el("strong", {}, p.key), el("span", { class: "name" }, p.name)),
      el("td", { class: "status" }, p.status.toLowerCase().replace("_", " ")),
      el("td", {}, badge(p.health.health), reasons(p.health.reasons),
        p.health.override ? el("p", { class: "override" }, `Override: ${p.health.override.note}`) : null),
      el("td", {}, progress(p.progress)),
      el("td", { class: p.overdue.totalCount ? "overdue late" : "overdue" }, String(p.overdue.totalCount)),
      el("td", { class: "date" }, p.targetEndDate || "–")));
  document.getElementById("projects").replaceChildren(...rows);
}

function figure(label, value, attributes = {}) {
  return el("div", { class: "figure-row", ...attributes }, el("dt", {}, label), el("dd", {}, value));
}

const RUNS_SHOWN = 5;

function moment(value) {
  const parts = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return new Date(value).toLocaleString(undefined, parts);
}

/** The runs under way, each with the steps it is at and when it is due. */
function underWay(runs) {
  if (!runs.length) return null;
  const items = runs.slice(0, RUNS_SHOWN).map((run) => {
    const open = run.steps.filter((s) => s.readyAt && !s.finishedAt);
    const at = open.map((s) => `${s.step.name}${s.startedAt ? "" : " (waiting)"}`).join(", ") || "–";
    return el("li", { "data-run": run.name, class: run.isOverdue ? "late" : null },
      el("span", { class: "run-name" }, run.name),
      el("span", { class: "run-at" }, at),
      el("span", { class: "run-due" }, run.dueAt ? `${run.isOverdue ? "overdue since" : "due"} ${moment(run.dueAt)}` : ""));
  });
  if (runs.length > RUNS_SHOWN) items.push(el("li", { class: "quiet" }, `and ${runs.length - RUNS_SHOWN} more`));
  return el("div", {}, el("h4", {}, "Under way"), el("ul", { class: "runs" }, ...items));
}

export function renderProcesses(processes, running) {
  const cards = processes.map((p) => {
    const m = p.metrics;
    const runs = running.filter((run) => run.process.id === p.id);
    const late = runs.filter((run) => run.isOverdue).length;
    const bottleneck = m.bottleneck
      ? el("p", { class: "bottleneck" }, "Bottleneck: ", el("strong", {}, m.bottleneck.stepName),
        ` (${percent(m.bottleneck.shareOfCycleTime)} of the cycle time, ${hours(m.bottleneck.medianDurationHours)} median)`)
      : el("p", { class: "bottleneck quiet" }, "No bottleneck yet: no finished runs.");
    return el("article", { class: "process", "data-key": p.key },
      el("header", {}, el("h3", {}, el("strong", {}, p.key), ` ${p.name}`), badge(p.health.health)),
      reasons(p.health.reasons),
      el("dl", { class: "figures" },
        figure("running", String(m.runsRunning)),
        figure("overdue", String(late), { class: late ? "figure-row late" : "figure-row" }),
        figure("finished", String(m.runsCompleted)),
        figure("median cycle", hours(m.medianCycleTimeHours)),
        figure("on time", percent(m.onTimeRate))),
      bottleneck,
      p.schedule ? el("p", { class: "schedule" }, `Starts by itself ${p.schedule.description}`,
        p.schedule.nextRuns.length ? `; next on ${moment(p.schedule.nextRuns[0])}.` : ".") : null,
      underWay(runs),
      el("h4", {}, "Cycle time per week"),
      cycleTimeChart(m.trend));
  });
  document.getElementById("processes").replaceChildren(...cards);
}
