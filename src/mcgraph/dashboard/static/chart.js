// The cycle-time chart of a process: the median cycle time of the runs finished in each
// week of `metrics.trend`, as an SVG line with a dot per week that had finished runs,
// from the first week in which a run finished.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 120;
const PAD = { top: 10, right: 10, bottom: 20, left: 36 };

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

function niceCeiling(value) {
  const step = 10 ** Math.floor(Math.log10(value));
  return [1, 1.5, 2, 2.5, 3, 5, 10].map((m) => m * step).find((v) => v >= value);
}

function shortDate(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

/** An <svg> of `trend` (TrendPoint objects), or a note when no run finished in the period. */
export function cycleTimeChart(fullTrend) {
  const first = fullTrend.findIndex((p) => p.medianCycleTimeHours !== null);
  if (first < 0) {
    const note = document.createElement("p");
    note.className = "chart-empty";
    note.textContent = "No run finished in the last 90 days.";
    return note;
  }
  const trend = fullTrend.slice(Math.max(0, Math.min(first, fullTrend.length - 2)));
  const points = trend.filter((p) => p.medianCycleTimeHours !== null);
  const svg = node("svg", {
    class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-label": "Median cycle time per week, in hours",
  });
  const top = niceCeiling(Math.max(...points.map((p) => p.medianCycleTimeHours)));
  const x = (index) => PAD.left + (index / Math.max(trend.length - 1, 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (hours) => HEIGHT - PAD.bottom - (hours / top) * (HEIGHT - PAD.top - PAD.bottom);

  for (const hours of [0, top / 2, top]) {
    svg.append(node("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(hours), y2: y(hours), class: "grid" }));
    svg.append(node("text", { x: PAD.left - 4, y: y(hours) + 3, "text-anchor": "end", class: "axis" }, `${hours} h`));
  }
  for (const index of [0, trend.length - 1]) {
    const anchor = index === 0 ? "start" : "end";
    svg.append(node("text", { x: x(index), y: HEIGHT - 5, "text-anchor": anchor, class: "axis" }, shortDate(trend[index].periodStart)));
  }
  const placed = trend.map((p, index) => [p, index]).filter(([p]) => p.medianCycleTimeHours !== null);
  const path = placed.map(([p, index], n) => `${n ? "L" : "M"}${x(index).toFixed(1)},${y(p.medianCycleTimeHours).toFixed(1)}`);
  svg.append(node("path", { d: path.join(" "), class: "line" }));
  for (const [p, index] of placed) {
    const dot = node("circle", { cx: x(index), cy: y(p.medianCycleTimeHours), r: 3, class: "dot" });
    const runs = `${p.runsCompleted} run${p.runsCompleted === 1 ? "" : "s"}`;
    dot.append(node("title", {}, `week of ${shortDate(p.periodStart)}: ${p.medianCycleTimeHours.toFixed(1)} h median, ${runs}`));
    svg.append(dot);
  }
  return svg;
}
