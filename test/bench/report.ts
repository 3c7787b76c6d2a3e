import type { ConcurrentStreamsResult } from "./streams.js";
import { differences, fixed, formatSpread, spread } from "./stats.js";

/** What a run measured, phase by phase; a phase that did not run is null. Times in ms unless named otherwise. */
export type Mode = "non-streaming" | "streaming";
export const MODES: readonly Mode[] = ["non-streaming", "streaming"];

export interface LatencyFigures {
  gatewayP50: number[];
  gatewayP99: number[];
  /** The bare proxy (bare-proxy.ts): what any Node proxy on the gateway's core costs. */
  proxyP50: number[];
  proxyP99: number[];
  directP50: number[];
  directP99: number[];
  /** Every `X-Switchyard-Overhead-Ms` value seen (empty: the header is absent). */
  overheadMs: number[];
}

export interface ThroughputFigures {
  gateway: number[];
  proxy: number[];
  direct: number[];
  /** Gateway CPU time per request, µs, and the share of its core it used (0–1), per repetition. */
  cpuUsPerRequest: number[];
  cpuShare: number[];
  /** Share of the gateway's core (0–1) used by anything else meanwhile (NaN when not pinned). */
  othersShare: number[];
}

export interface StreamFigures {
  gateway: ConcurrentStreamsResult[];
  direct: ConcurrentStreamsResult[];
  /** Most upstream streams the mock saw open at once during each gateway repetition. */
  upstreamPeak: number[];
}

export interface CreditCheck {
  /** Requests the account could afford (credits ÷ worst case), and how many were sent at once (then more, one by one). */
  affordable: number;
  sent: number;
  served: number;
  /** Of `served`, those served while all `sent` ran at once (the rest: one at a time afterwards). */
  servedAtOnce: number;
  refused402: number;
  otherStatuses: Record<string, number>;
  /** Lowest balance and lowest balance − held seen while the requests ran (USD), and the final figures. */
  minBalanceUsd: string;
  minAvailableUsd: string;
  finalBalanceUsd: string;
  ledgerSumUsd: string;
  ledgerSums: boolean;
  neverNegative: boolean;
}

export interface LedgerCheck {
  balanceUsd: string;
  ledgerSumUsd: string;
  sums: boolean;
}

export interface Results {
  latency: Record<Mode, LatencyFigures> | null;
  throughput: Record<Mode, ThroughputFigures> | null;
  firstChunk: { gateway: number[]; proxy: number[]; direct: number[] } | null;
  streams: StreamFigures | null;
  memory: { idleMb: number; peakMb: number; peakPhase: string; afterMb: number; afterSeconds: number } | null;
  /** `credit`: one check per round, each on a fresh account. */
  scale: { throughput: Record<Mode, number[]>; credit: CreditCheck[]; note: string } | null;
  ledger: LedgerCheck | null;
  /** Things that went wrong without stopping the run (failed requests, non-2xx answers). */
  warnings: string[];
}

export interface RunInfo {
  date: string;
  commit: string;
  machine: string;
  node: string;
  loadAverage: string;
  database: string;
  pinning: string;
  settings: string[];
  quick: boolean;
}

const OK = "✅";
const MISSED = "❌";

function mark(met: boolean | null): string {
  return met === null ? "" : ` ${met ? OK : MISSED}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** The markdown report: the table (metric | target | gateway | direct | added), then notes, machine and settings. */
export function renderReport(results: Results, info: RunInfo): string {
  const rows: string[][] = [];
  const notRun = (metric: string, target: string) => rows.push([metric, target, "not run", "", "", "", ""]);
  /** A row without bare-proxy figures. */
  const plain = (metric: string, target: string, gateway: string, direct: string, added: string) => rows.push([metric, target, gateway, "", direct, added, ""]);

  if (results.latency) {
    for (const mode of MODES) {
      const l = results.latency[mode];
      for (const [p, gw, bare, direct, target] of [
        ["p50", l.gatewayP50, l.proxyP50, l.directP50, 0.3],
        ["p99", l.gatewayP99, l.proxyP99, l.directP99, 2],
      ] as const) {
        const added = spread(differences(gw, direct));
        rows.push([
          `Added latency ${p}, ${mode}, 500 req/s over 50 connections`,
          `≤ ${target} ms${mark(added.count ? added.median <= target : null)}`,
          formatSpread(spread(gw), 3, "ms"),
          formatSpread(spread(bare), 3, "ms"),
          formatSpread(spread(direct), 3, "ms"),
          formatSpread(added, 3, "ms"),
          formatSpread(spread(differences(bare, direct)), 3, "ms"),
        ]);
      }
    }
  } else {
    notRun("Added latency p50 / p99 at 500 req/s", "≤ 0.3 / 2 ms");
  }

  if (results.throughput) {
    for (const mode of MODES) {
      const t = results.throughput[mode];
      const target = mode === "non-streaming" ? 8000 : 6000;
      const gw = spread(t.gateway);
      const cpu = spread(t.cpuUsPerRequest);
      const share = spread(t.cpuShare);
      const others = spread(t.othersShare);
      rows.push([
        `Max throughput, ${mode}, 50 connections, closed loop`,
        `≥ ${fixed(target, 0)} req/s${mark(gw.count ? gw.median >= target : null)}`,
        formatSpread(gw, 0, "req/s"),
        formatSpread(spread(t.proxy), 0, "req/s"),
        formatSpread(spread(t.direct), 0, "req/s"),
        cpu.count
          ? `${fixed(cpu.median, 0)} µs CPU per request (gateway at ${fixed(share.median * 100, 0)}% of its core` +
            `${others.count ? `, other processes at ${fixed(others.median * 100, 0)}%` : ""})`
          : "",
        "",
      ]);
    }
  } else {
    notRun("Max throughput", "≥ 8,000 / 6,000 req/s");
  }

  if (results.firstChunk) {
    const f = results.firstChunk;
    const added = spread(differences(f.gateway, f.direct));
    rows.push([
      "Added time to first chunk p50, paced upstream (5 ms/chunk), sequential",
      `≤ 0.5 ms${mark(added.count ? added.median <= 0.5 : null)}`,
      formatSpread(spread(f.gateway), 3, "ms"),
      formatSpread(spread(f.proxy), 3, "ms"),
      formatSpread(spread(f.direct), 3, "ms"),
      formatSpread(added, 3, "ms"),
      formatSpread(spread(differences(f.proxy, f.direct)), 3, "ms"),
    ]);
  } else {
    notRun("Added time to first chunk", "≤ 0.5 ms");
  }

  if (results.streams) {
    const s = results.streams;
    const total = s.gateway[0]?.streams ?? 0;
    const completed = (rs: ConcurrentStreamsResult[]) => formatSpread(spread(rs.map((r) => r.completed)), 0);
    const lost = (rs: ConcurrentStreamsResult[]) => rs.reduce((sum, r) => sum + r.chunksLost, 0);
    const allCompleted = s.gateway.every((r) => r.completed === r.streams);
    plain(
      `${fixed(total, 0)} concurrent streams × 60 chunks at 20 ms: streams completed`,
      `${fixed(total, 0)}${mark(allCompleted)}`,
      completed(s.gateway),
      completed(s.direct),
      s.upstreamPeak.length ? `upstream streams open at once (gateway): ${formatSpread(spread(s.upstreamPeak), 0)}` : "",
    );
    plain("… chunks lost (all repetitions)", `0${mark(lost(s.gateway) === 0)}`, fixed(lost(s.gateway), 0), fixed(lost(s.direct), 0), "");
    const gwTime = s.gateway.map((r) => r.seconds);
    const directTime = s.direct.map((r) => r.seconds);
    plain(
      "… time until the last stream ended",
      "",
      formatSpread(spread(gwTime), 2, "s"),
      formatSpread(spread(directTime), 2, "s"),
      formatSpread(spread(differences(gwTime, directTime)), 2, "s"),
    );
  } else {
    notRun("1,000 concurrent streams", "0 lost");
  }

  if (results.memory) {
    const m = results.memory;
    const back = (m.afterMb - m.idleMb) / m.idleMb;
    plain("Gateway resident memory at idle", "", `${fixed(m.idleMb, 1)} MB`, "", "");
    plain(`Gateway resident memory, peak under load (${m.peakPhase})`, `≤ 200 MB${mark(m.peakMb <= 200)}`, `${fixed(m.peakMb, 1)} MB`, "", "");
    plain(
      `Gateway resident memory ${fixed(m.afterSeconds, 0)} s after the load`,
      `within 10% of idle${mark(back <= 0.1)}`,
      `${fixed(m.afterMb, 1)} MB`,
      "",
      `${back >= 0 ? "+" : ""}${fixed(back * 100, 1)}% of idle`,
    );
  } else {
    notRun("Resident memory", "≤ 200 MB; back within 10%");
  }

  if (results.latency) {
    for (const mode of MODES) {
      const values = results.latency[mode].overheadMs;
      const spreadOf = (p: number) => {
        if (values.length === 0) return "n/a";
        const sorted = [...values].sort((a, b) => a - b);
        return fixed(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)], 3);
      };
      plain(
        `Gateway-reported overhead (X-Switchyard-Overhead-Ms), ${mode}, p50 / p99`,
        "",
        values.length ? `${spreadOf(50)} / ${spreadOf(99)} ms` : "n/a (header absent)",
        "",
        "",
      );
    }
  }

  if (results.scale) {
    const sc = results.scale;
    for (const mode of MODES) {
      const two = spread(sc.throughput[mode]);
      const one = results.throughput ? spread(results.throughput[mode].gateway) : null;
      plain(
        `Scale: max throughput, ${mode}, 2 gateway processes`,
        "",
        formatSpread(two, 0, "req/s"),
        "",
        one && one.count ? `×${fixed(two.median / one.median, 2)} of one process` : "",
      );
    }
    if (sc.credit.length > 0) {
      const rounds = sc.credit;
      const affordable = rounds[0].affordable;
      const exact = rounds.every((c) => c.neverNegative && c.ledgerSums && c.served === c.affordable);
      const list = (f: (c: CreditCheck) => string) => rounds.map(f).join(", ");
      const problems = rounds.flatMap((c, i) =>
        c.served > c.affordable
          ? [`round ${i + 1}: OVERSPENT by ${fixed(c.served - c.affordable, 0)} requests`]
          : c.served < c.affordable
            ? [`round ${i + 1}: ${fixed(c.affordable - c.served, 0)} affordable requests refused (credit stranded)`]
            : [],
      );
      const other = rounds.filter((c) => Object.keys(c.otherStatuses).length > 0);
      plain(
        `Scale: credits across 2 processes, ${rounds.length} round${rounds.length === 1 ? "" : "s"} (credits for ${fixed(affordable, 0)} requests; ` +
          `${fixed(rounds[0].sent, 0)} sent at once, then one at a time until both refuse)`,
        `never below 0, ledger sums, exactly ${fixed(affordable, 0)} served${mark(exact)}`,
        `served ${list((c) => fixed(c.served, 0))}; lowest balance ${list((c) => c.minBalanceUsd)} USD; ` +
          `final ${list((c) => c.finalBalanceUsd)} USD; ledger ${rounds.every((c) => c.ledgerSums) ? "sums" : `sums to ${list((c) => c.ledgerSumUsd)} USD`}` +
          (other.length ? `; other statuses: ${list((c) => JSON.stringify(c.otherStatuses))}` : ""),
        "",
        problems.join("; "),
      );
    }
  } else {
    notRun("Scale (2 gateway processes)", "");
  }

  if (results.ledger) {
    const l = results.ledger;
    plain("Ledger of the benchmark account after the run", `balance = sum of entries${mark(l.sums)}`, `balance ${l.balanceUsd} USD, entries sum to ${l.ledgerSumUsd} USD`, "", "");
  }

  const table = [
    row(["metric", "target", "gateway", "bare proxy", "direct (mock)", "added: gateway", "added: bare proxy"]),
    row(["---", "---", "---:", "---:", "---:", "---", "---"]),
    ...rows.map(row),
  ].join("\n");

  const notes = [
    "Figures are the median of the repetitions with (min–max); \"added\" is the median of the differences between each " +
      "gateway (or bare proxy) run and the direct run next to it. Latency is measured from sending a request to the end of its answer.",
    "The bare proxy (bare-proxy.ts) is the floor: a minimal node:http pass-through on the gateway's core, with nothing of a " +
      "gateway in it. The targets of issue 7 were set against such a proxy on a similar machine (0.14 / 0.4 ms added, 22,000 / 18,500 req/s).",
    ...(results.scale ? [`Scale: ${results.scale.note}`] : []),
    ...results.warnings.map((w) => `Warning: ${w}`),
  ];

  return [
    `## Switchyard benchmark${info.quick ? " (quick run: shorter phases, one repetition — not for comparison)" : ""}`,
    "",
    table,
    "",
    ...notes.map((n) => `- ${n}`),
    "",
    "**Machine:** " + info.machine + `; Node ${info.node}; load average at start ${info.loadAverage}.`,
    "",
    `**Database:** ${info.database}.`,
    "",
    `**CPU placement:** ${info.pinning}.`,
    "",
    "**Settings:**",
    "",
    ...info.settings.map((s) => `- ${s}`),
    "",
    `Run ${info.date} at ${info.commit}.`,
    "",
  ].join("\n");
}
