import { readFileSync } from "node:fs";

/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and sums self time per function and per area (a package, a folder of
 * src/, Node's internals, GC), within a time window so that start-up and idle time before the load do not count.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  /** Microseconds, on the monotonic clock `process.hrtime` also reads. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds of samples in the window (idle included). */
  windowMs: number;
  /** Milliseconds the process was busy (not idle) in the window. */
  busyMs: number;
  /** True when the window did not fall inside the profile and every sample was counted. */
  wholeProfile: boolean;
  functions: Array<{ name: string; selfMs: number; share: number }>;
  areas: Array<{ name: string; selfMs: number; share: number }>;
}

/**
 * Summarises `file` over the window [fromUs, toUs] (microseconds of `process.hrtime`); shares are of busy time.
 */
export function summarizeProfile(file: string, window: { fromUs: number; toUs: number } | null, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const inside = window !== null && window.fromUs >= profile.startTime && window.toUs <= profile.endTime;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let t = profile.startTime;
  let windowUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (inside && (t < window.fromUs || t > window.toUs)) continue;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(profile.samples[i]);
    if (!frame) continue;
    windowUs += us;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const name = `${frame.functionName || "(anonymous)"} ${location(frame)}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const busyUs = windowUs - idleUs;
  const rank = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { windowMs: windowUs / 1000, busyMs: busyUs / 1000, wholeProfile: !inside, functions: rank(byFunction), areas: rank(byArea) };
}

function location(frame: CallFrame): string {
  if (!frame.url) return "";
  // Sources compiled on the fly (tsx) report line 0 for everything: the file alone says more.
  return frame.lineNumber > 0 ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : shortUrl(frame.url);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  const src = url.search(/\/(src|test)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}

/** The package (`fastify`, `@mikro-orm/core`), the folder of src/ (`src/core`), `node:<module>`, or a V8 bucket. */
function areaOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const modules = frame.url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = frame.url.slice(modules + "/node_modules/".length).split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = /\/src\/([^/]+)\//.exec(frame.url);
  if (src) return `src/${src[1]}`;
  if (frame.url.startsWith("node:")) {
    const parts = frame.url.slice(5).split("/");
    return `node:${parts[0] === "internal" && parts.length > 1 ? `internal/${parts[1].replace(/\.js$/, "")}` : parts[0]}`;
  }
  return shortUrl(frame.url);
}

/** The summary as markdown: areas, then functions. */
export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  const lines = [
    `### ${title}`,
    "",
    `Busy ${summary.busyMs.toFixed(0)} ms of ${summary.windowMs.toFixed(0)} ms sampled` +
      `${summary.wholeProfile ? " (whole profile: the load window could not be matched to the profile's clock)" : " (the load window only)"}; shares are of busy time.`,
    "",
    "| area | self time | share |",
    "| --- | ---: | ---: |",
    ...summary.areas.slice(0, 12).map((a) => `| ${a.name} | ${a.selfMs.toFixed(0)} ms | ${pct(a.share)} |`),
    "",
    "| function (self time) | self time | share |",
    "| --- | ---: | ---: |",
    ...summary.functions.map((f) => `| \`${f.name.replace(/\|/g, "\\|")}\` | ${f.selfMs.toFixed(0)} ms | ${pct(f.share)} |`),
  ];
  return lines.join("\n");
}
