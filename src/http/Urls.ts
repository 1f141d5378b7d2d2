import { type IdView, sameIds } from "./Compat.js"

/**
 * The URLs the API writes (Location, latest, next), under the base path it is mounted at; job ids
 * in their wire form (`ids`: version 1 in the ha-jobs mode).
 */
export const makeUrls = (basePath: string, ids: IdView = sameIds) => {
  const jobs = (jobType: string) => `${basePath}/jobs/${encodeURIComponent(jobType)}`
  return {
    status: (jobType: string, jobId: string) => `${jobs(jobType)}/${encodeURIComponent(ids.out(jobId))}`,
    resume: (jobType: string) => `${jobs(jobType)}/resume`,
    auditPage: (jobType: string | undefined, limit: number, before: string) =>
      `${basePath}/audit?${jobType === undefined ? "" : `jobType=${encodeURIComponent(jobType)}&`}limit=${limit}&before=${encodeURIComponent(before)}`,
    eventsPage: (jobType: string, limit: number, before: string) =>
      `${jobs(jobType)}/events?limit=${limit}&before=${encodeURIComponent(before)}`,
    historyPage: (jobType: string, jobId: string, limit: number, before: string) =>
      `${jobs(jobType)}/${encodeURIComponent(ids.out(jobId))}/history?limit=${limit}&before=${encodeURIComponent(before)}`,
    typesPage: (
      filter: { readonly q?: string | undefined; readonly group?: string | undefined },
      limit: number,
      after: string,
    ) =>
      `${basePath}/jobs?${filter.q === undefined ? "" : `q=${encodeURIComponent(filter.q)}&`}${filter.group === undefined ? "" : `group=${encodeURIComponent(filter.group)}&`}limit=${limit}&after=${encodeURIComponent(after)}`,
    page: (jobType: string, limit: number, before: string) =>
      `${jobs(jobType)}?limit=${limit}&before=${encodeURIComponent(ids.out(before))}`,
  }
}
