// The dashboard: sign in, read the organisation's portfolio over HTTP, then keep it live.
//
// Live: `projectUpdated` (one per project), `processRunUpdated` (one per run under way) and
// `portfolioChanged` push the changed project, run or process, drawn at once; `events(after:)` hears every change of the organisation and
// each one re-reads the whole dashboard (coalesced: one read at a time, one more queued),
// so the totals and lists follow too. The page reads `latestEventCursor` before its first
// read and resumes `events` from the last cursor it saw after a reconnection, so no change
// is missed between a read and the live feed, nor while the socket was down.
//
// The token is kept in sessionStorage: it survives a reload of the tab but not closing it,
// stays out of other tabs and off the disk (unlike localStorage), and is never sent on its
// own the way a cookie is (so no cross-site request can use it). The page's CSP (no inline
// or foreign script) and text-only drawing keep other scripts from reading it.

import { DASHBOARD, EVENTS, PORTFOLIO_CHANGED, PROJECT_UPDATED, RUN_UPDATED, SignedOut, VIEWER, query } from "./api.js";
import { LiveConnection } from "./live.js";
import { renderAttention, renderProcesses, renderProjects, renderTiles } from "./view.js";

const TOKEN_KEY = "mcgraph.token";

const state = {
  token: null,
  cursor: null,
  live: null,
  data: null,
  projectFeeds: new Map(), // project id -> subscription id
  runFeeds: new Map(), // run id -> subscription id
  connection: "offline", // what the socket says; the badge shows "error" over it while a read fails
  reading: null,
  readAgain: false,
};

function show(signedIn) {
  document.getElementById("sign-in").hidden = signedIn;
  document.getElementById("dashboard").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
}

function onConnection(status) {
  state.connection = status;
  setLive(status);
}

function setLive(status) {
  const badge = document.getElementById("live");
  badge.dataset.state = status;
  badge.textContent = status;
}

function draw() {
  const { portfolio, projects, processes, runsUnderWay } = state.data;
  const running = runsUnderWay.nodes.filter((run) => run.state === "RUNNING");
  renderTiles(portfolio, running.filter((run) => run.isOverdue).length);
  renderAttention(portfolio);
  renderProjects(projects.nodes);
  renderProcesses(processes.nodes, running);
}

// Where the dashboard's data shows a project, a process, a run: [object, key of the list].
const PROJECT_LISTS = (data) => [[data.projects, "nodes"], [data.portfolio, "atRisk"], [data.portfolio, "offTrack"]];
const PROCESS_LISTS = (data) => [
  [data.processes, "nodes"], [data.portfolio, "processesAtRisk"], [data.portfolio, "processesOffTrack"],
];
const RUN_LISTS = (data) => [[data.runsUnderWay, "nodes"]];

/** Puts a pushed project or process in place of the one shown, in every list that shows it. */
function apply(changed, lists) {
  if (!changed || !state.data) return;
  for (const [holder, key] of lists(state.data)) {
    holder[key] = holder[key].map((item) => (item.id === changed.id ? changed : item));
  }
  draw();
}

/** Re-reads the dashboard; while a read is under way, one more is queued behind it. */
function reread() {
  if (state.reading) {
    state.readAgain = true;
    return;
  }
  state.reading = query(state.token, DASHBOARD)
    .then((data) => {
      if (!state.token) return; // signed out meanwhile
      state.data = data;
      setLive(state.connection);
      draw();
      follow(state.projectFeeds, data.projects.nodes, PROJECT_UPDATED, (d) => d?.projectUpdated.project, PROJECT_LISTS);
      follow(state.runFeeds, data.runsUnderWay.nodes, RUN_UPDATED, (d) => d?.processRunUpdated.run, RUN_LISTS);
    })
    .catch(failed)
    .finally(() => {
      state.reading = null;
      if (state.readAgain && state.token) {
        state.readAgain = false;
        reread();
      }
    });
}

/** One subscription per item shown (`document` with its id): new items get one, gone ones lose theirs. */
function follow(feeds, items, document, changed, lists) {
  const ids = new Set(items.map((item) => item.id));
  for (const [id, feed] of feeds) {
    if (!ids.has(id)) {
      state.live.unsubscribe(feed);
      feeds.delete(id);
    }
  }
  for (const id of ids) {
    if (feeds.has(id)) continue;
    const feed = state.live.subscribe(document, () => ({ id }), {
      next: (payload) => apply(changed(payload.data), lists),
      end: () => feeds.delete(id), // the next re-read follows it again if it is still shown
    });
    feeds.set(id, feed);
  }
}

/** Tries again a little later (not in a loop with a server that keeps refusing), unless signed out. */
function later(again) {
  const live = state.live;
  setTimeout(() => { if (live && state.live === live) again(); }, 1000);
}

function followEvents() {
  state.live.subscribe(EVENTS, () => ({ after: state.cursor }), {
    next: (payload) => {
      const event = payload.data?.events;
      if (!event) return;
      state.cursor = event.cursor;
      reread();
    },
    end: () => later(followEvents), // resumes after the last cursor seen
  });
}

function followPortfolio() {
  state.live.subscribe(PORTFOLIO_CHANGED, () => ({}), {
    next: (payload) => {
      const change = payload.data?.portfolioChanged;
      apply(change?.project, PROJECT_LISTS);
      apply(change?.process, PROCESS_LISTS);
    },
    end: () => later(followPortfolio),
  });
}

function failed(problem) {
  if (problem instanceof SignedOut) {
    signOut(problem.message);
    return;
  }
  setLive("error");
  console.warn("reading the dashboard failed:", problem);
  later(reread);
}

async function signIn(token) {
  const { viewer, latestEventCursor } = await query(token, VIEWER);
  state.token = token;
  state.cursor = latestEventCursor;
  sessionStorage.setItem(TOKEN_KEY, token);
  document.getElementById("organization").textContent = `${viewer.organization.name} · ${viewer.user.name}`;
  show(true);
  state.live = new LiveConnection(token, { onState: onConnection, onRefused: signOut });
  followEvents();
  followPortfolio();
  state.live.start();
  reread();
}

function signOut(why = "") {
  state.live?.stop();
  Object.assign(state, { token: null, cursor: null, live: null, data: null, readAgain: false });
  state.projectFeeds.clear();
  state.runFeeds.clear();
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("organization").textContent = "";
  document.getElementById("sign-in-error").textContent = why;
  onConnection("offline");
  show(false);
}

function start() {
  const form = document.getElementById("sign-in");
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const token = form.elements.token.value.trim();
    form.elements.token.value = "";
    signIn(token).catch((problem) => signOut(problem.message));
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch((problem) => signOut(problem.message));
  else show(false);
}

start();
