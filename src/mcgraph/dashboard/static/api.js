// The GraphQL documents the dashboard reads, and the one HTTP call that runs them.

const PROJECT = `fragment DashboardProject on Project {
  id key name status targetEndDate progress
  health { health reasons { code health message } override { note } }
  overdue: tasks(where: {overdue: true}) { totalCount }
}`;

const PROCESS = `fragment DashboardProcess on Process {
  id key name status
  schedule { description nextRuns(count: 1) }
  health { health reasons { code health message } }
  metrics {
    runsCompleted runsRunning medianCycleTimeHours onTimeRate
    bottleneck { stepName medianDurationHours shareOfCycleTime message }
    trend { periodStart runsCompleted medianCycleTimeHours }
  }
}`;

const RUN = `fragment DashboardRun on ProcessRun {
  id name state dueAt isOverdue process { id }
  steps { readyAt startedAt finishedAt step { name } }
}`;

export const VIEWER = `{ viewer { role user { name } organization { name } } latestEventCursor }`;

export const DASHBOARD = `query Dashboard {
  portfolio {
    byHealth { health count }
    overdueTasks
    atRisk { ...DashboardProject }
    offTrack { ...DashboardProject }
    processesAtRisk { ...DashboardProcess }
    processesOffTrack { ...DashboardProcess }
  }
  projects(first: 50) { nodes { ...DashboardProject } }
  processes(first: 50) { nodes { ...DashboardProcess } }
  runsUnderWay: processRuns(where: {states: [RUNNING]}, first: 50) { nodes { ...DashboardRun } }
}
${PROJECT}
${PROCESS}
${RUN}`;

export const EVENTS = `subscription Resume($after: String) { events(after: $after) { cursor type } }`;

export const PORTFOLIO_CHANGED = `subscription {
  portfolioChanged { project { ...DashboardProject } process { ...DashboardProcess } }
}
${PROJECT}
${PROCESS}`;

export const PROJECT_UPDATED = `subscription ProjectUpdated($id: ID!) {
  projectUpdated(id: $id) { project { ...DashboardProject } }
}
${PROJECT}`;

export const RUN_UPDATED = `subscription RunUpdated($id: ID!) {
  processRunUpdated(id: $id) { run { ...DashboardRun } }
}
${RUN}`;

export class SignedOut extends Error {}

/** The data of a query sent over HTTP; SignedOut when the token is refused. */
export async function query(token, document, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Authorization": `Bearer ${token}`,
      "Content-Type": "application/json",
      "Accept": "application/graphql-response+json, application/json",
    },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = await response.json().catch(() => ({}));
  const errors = body.errors || [];
  if (errors.some((error) => error.extensions?.code === "UNAUTHENTICATED") || response.status === 401) {
    throw new SignedOut(errors[0]?.message || "The token was refused.");
  }
  if (!body.data || errors.length) {
    throw new Error(errors[0]?.message || `The server answered ${response.status}.`);
  }
  return body.data;
}
