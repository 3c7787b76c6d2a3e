import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { request } from "undici";
import { formatUsd, parseUsd } from "../../src/billing/money.js";
import { benchCatalog, CREDIT_MAX_TOKENS, CREDIT_MODEL, CREDIT_REQUEST_COST_USD, modelFor, SHAPES, shapeBaseUrl, UPSTREAM_KEY_ENV, type ShapeName } from "./bench-catalog.js";
import { connect, openBenchDatabase, type BenchDatabase } from "./database.js";
import { closedLoop, closedLoopWrk, fixedRate, wrkAvailable, type ClosedLoopResult, type Target } from "./load.js";
import { chunkText } from "./mock-upstream.js";
import {
  coreBusySeconds,
  cpuSeconds,
  killAll,
  killAllNow,
  MemorySampler,
  outputTail,
  pinningAvailable,
  repin,
  spawnChild,
  stopChild,
  waitForOutput,
  type Pinning,
} from "./processes.js";
import { profileMarkdown, summarizeProfile } from "./profile.js";
import { MODES, renderReport, type CreditCheck, type Mode, type Results, type RunInfo } from "./report.js";
import { concurrentStreams, firstChunkTimes } from "./streams.js";
import { fixed } from "./stats.js";

/**
 * `npm run bench`: starts a mock upstream, a database and a Switchyard gateway against them, measures what the gateway
 * adds (see README.md beside this file), prints one markdown table and writes it to results/latest.md. Every child
 * process is ended however the run ends.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
/** The gateway as it runs in production: the compiled build (`npm run build`), not the TypeScript sources under tsx. */
const SWITCHYARD = path.join(ROOT, "dist/src/main.js");
const RESULTS = path.join(HERE, "results");
const PINNED_ENV = "SY_BENCH_PINNED";
const OVERHEAD_HEADER = "x-switchyard-overhead-ms";
const PHASES = ["latency", "throughput", "first-chunk", "streams", "scale"] as const;
type Phase = (typeof PHASES)[number];

const USAGE = `Usage: npm run bench -- [options]

  --quick            short phases, one repetition (a smoke run of about a minute; writes results/quick.md)
  --reps N           repetitions of each figure (default 3)
  --only a,b         run only these phases: ${PHASES.join(", ")}
  --node-options "F" Node/V8 flags for the gateways, e.g. "--max-old-space-size=128" (the heap limit, see README.md)
  --wrk              measure throughput with wrk (when on PATH) instead of autocannon
  --profile          instead of the table: profile the gateway (node --cpu-prof) under the throughput phase
                     and print the functions with the most self time (also written to results/profile.md)
  --help

Environment: DATABASE_URL (a PostgreSQL server to create a fresh database on; default: 127.0.0.1:5432, else the
embedded PostgreSQL), REDIS_URL (shared by the gateways), and any SWITCHYARD_* variable, passed to the gateway.`;

interface Settings {
  quick: boolean;
  reps: number;
  phases: Set<Phase>;
  profile: boolean;
  /** Extra flags for the gateways' node (V8 heap tuning). */
  nodeOptions: string[];
  /** What measures throughput: autocannon, or wrk with --wrk when it is installed. */
  loader: "autocannon" | "wrk";
  warmupS: number;
  rate: number;
  connections: number;
  latencyMs: number;
  throughputS: number;
  firstChunkRequests: number;
  streams: number;
  cooldownS: number;
  creditAffordable: number;
}

function settingsFrom(argv: string[]): Settings | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      reps: { type: "string" },
      only: { type: "string" },
      profile: { type: "boolean" },
      wrk: { type: "boolean" },
      "node-options": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const phases = new Set<Phase>();
  for (const name of (values.only ?? PHASES.join(",")).split(",").filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(name)) throw new Error(`--only: unknown phase "${name}" (phases: ${PHASES.join(", ")})`);
    phases.add(name as Phase);
  }
  const reps = values.reps ? Number(values.reps) : quick ? 1 : 3;
  if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error("--reps: expected an integer from 1 to 20");
  return {
    quick,
    reps,
    phases,
    profile: values.profile ?? false,
    nodeOptions: (values["node-options"] ?? "").split(/\s+/).filter(Boolean),
    loader: values.wrk && wrkAvailable() ? "wrk" : "autocannon",
    warmupS: quick ? 1 : 3,
    rate: 500,
    connections: 50,
    latencyMs: quick ? 2_000 : 5_000,
    throughputS: quick ? 2 : 5,
    firstChunkRequests: quick ? 20 : 60,
    streams: 1000,
    cooldownS: quick ? 2 : 5,
    creditAffordable: quick ? 100 : 200,
  };
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Pinning: the orchestrator re-executes itself on core 1 so that everything it starts (the mock) and does (the load)
// stays there; the gateway is started on core 0.

let pinning: Pinning;
if (process.env[PINNED_ENV] === undefined) {
  const available = process.argv.includes("--help") ? ({ ok: false, reason: "help" } as const) : pinningAvailable();
  if (available.ok) {
    const child = spawn("taskset", ["-c", "1", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, [PINNED_ENV]: "1" },
    });
    // Ctrl-C reaches the child too (same process group); it cleans up and exits, and this process follows.
    process.on("SIGINT", () => {});
    process.on("SIGTERM", () => child.kill("SIGTERM"));
    child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    await new Promise(() => {});
  }
  pinning = {
    pinned: false,
    description: `not pinned (${available.ok ? "" : available.reason}): the gateway, the mock upstream and the load generator share every core, so figures are not comparable with pinned runs`,
  };
} else {
  pinning = {
    pinned: true,
    description: "the gateway on core 0; the mock upstream, the load generator and this orchestrator on core 1 (taskset); the database server is not pinned",
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Clean-up on every way out.

let database: BenchDatabase | null = null;
let sampler: MemorySampler | null = null;
const tempDir = mkdtempSync(path.join(os.tmpdir(), "sy-bench-"));
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    sampler?.stop();
    await killAll();
    await database?.drop().catch((error: Error) => log(`could not drop the benchmark database: ${error.message}`));
    rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

process.on("exit", killAllNow);
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    log(`failed (${event}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void cleanup().finally(() => process.exit(1));
  });
}
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every child process…`);
    void cleanup().finally(() => process.exit(code));
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// The parts: mock, gateway, CLI.

/** Gateways being stopped on purpose (any other exit of a gateway ends the run). */
const stopping = new Set<ChildProcess>();

async function stopGateway(gateway: Gateway): Promise<void> {
  stopping.add(gateway.child);
  await stopChild(gateway.child, 30_000);
}

interface Gateway {
  name: string;
  child: ChildProcess;
  pid: number;
  origin: string;
}

function gatewayEnv(db: BenchDatabase, catalogFile: string): NodeJS.ProcessEnv {
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name.startsWith("SWITCHYARD_") || name === "REDIS_URL" || name === "DATABASE_POOL_SIZE"),
  );
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: "production",
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    LOG_LEVEL: "warn",
    SWITCHYARD_DEV_BOOTSTRAP: "false",
    SWITCHYARD_SIGNUP_CREDITS: "0",
    // Request limits are not what is measured: out of reach. Credit holds still apply.
    SWITCHYARD_PAID_RPS_MIN: "1000000",
    SWITCHYARD_PAID_RPS_MAX: "1000000",
    ...passed,
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: db.url,
    SWITCHYARD_CATALOG: catalogFile,
    SWITCHYARD_DATA_DIR: path.join(tempDir, "data"),
    [UPSTREAM_KEY_ENV]: "bench",
  };
}

async function startGateway(name: string, env: NodeJS.ProcessEnv, cores: string | undefined, nodeFlags: string[] = []): Promise<Gateway> {
  const child = spawnChild(process.execPath, [...nodeFlags, SWITCHYARD, "serve"], { env, cores });
  const [, origin] = await waitForOutput(child, /listening on (http:\/\/\S+)/, 120_000, name);
  child.once("exit", (code, signal) => {
    if (stopping.has(child) || cleaning) return;
    log(`${name} exited unexpectedly (${signal ?? `code ${code}`}):\n${outputTail(child)}`);
    void cleanup().finally(() => process.exit(1));
  });
  return { name, child, pid: child.pid!, origin };
}

async function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<Record<string, unknown>> {
  const child = spawnChild(process.execPath, [SWITCHYARD, ...args, "--json"], { env });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`switchyard ${args.join(" ")} failed (${code}):\n${err || out}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}

/** Creates an account (with no credits: the gateway environment sets no sign-up credits). */
async function createAccount(env: NodeJS.ProcessEnv, label: string): Promise<{ id: string; email: string }> {
  const email = `${label}-${randomBytes(4).toString("hex")}@bench.invalid`;
  const account = await runCli(env, ["accounts", "create", "--email", email]);
  return { id: String(account.id), email };
}

/** Grants the account `usd` of credits and creates an inference key for it. */
async function fundAccount(env: NodeJS.ProcessEnv, account: { id: string; email: string }, usd: string): Promise<{ id: string; key: string }> {
  const [, key] = await Promise.all([
    runCli(env, ["credits", "grant", "--account", account.email, "--amount", usd, "--reason", "bench"]),
    runCli(env, ["keys", "create", "--account", account.email, "--name", "bench"]),
  ]);
  return { id: account.id, key: String(key.key) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Requests.

const PROMPT = [{ role: "user", content: "Say something short." }];

function requestBody(model: string, stream: boolean, maxTokens = 128): string {
  return JSON.stringify({ model, messages: PROMPT, max_tokens: maxTokens, ...(stream ? { stream: true } : {}) });
}

function expectedText(shape: ShapeName): string {
  return Array.from({ length: SHAPES[shape].chunks }, (_, i) => chunkText(i)).join("");
}

interface Targets {
  gateway(shape: ShapeName, stream: boolean): Target;
  direct(shape: ShapeName, stream: boolean): Target;
  /** The direct request through the bare proxy. */
  proxy(shape: ShapeName, stream: boolean): Target;
}

function targets(gatewayOrigin: string, mockOrigin: string, proxyOrigin: string, key: string): Targets {
  const direct = (shape: ShapeName, stream: boolean): Target => ({
    origin: mockOrigin,
    path: `${new URL(shapeBaseUrl(mockOrigin, SHAPES[shape])).pathname}/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: requestBody(`mock-${shape}`, stream),
  });
  return {
    gateway: (shape, stream) => ({
      origin: gatewayOrigin,
      path: "/api/v1/chat/completions",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: requestBody(modelFor(shape), stream),
    }),
    direct,
    proxy: (shape, stream) => ({ ...direct(shape, stream), origin: proxyOrigin }),
  };
}

const url = (t: Target) => `${t.origin}${t.path}`;

/** One request of each kind through the gateway, checked, so that a broken set-up fails before any measurement. */
async function checkGateway(t: Targets): Promise<void> {
  const plain = t.gateway("fast", false);
  const response = await request(url(plain), { method: "POST", headers: plain.headers, body: plain.body });
  const text = await response.body.text();
  const content = (JSON.parse(text) as { choices?: Array<{ message?: { content?: string } }> }).choices?.[0]?.message?.content;
  if (response.statusCode !== 200 || content !== expectedText("fast")) {
    throw new Error(`The gateway's non-streamed answer is not the mock's (HTTP ${response.statusCode}): ${text.slice(0, 500)}`);
  }
  const streamed = await concurrentStreams(t.gateway("fast", true), 1, { chunks: SHAPES.fast.chunks, text: expectedText("fast") }, 10_000);
  if (streamed.completed !== 1) throw new Error(`The gateway's streamed answer is not the mock's: ${streamed.firstError}`);
}

async function mockStats(mockOrigin: string, reset: boolean): Promise<{ peak: number }> {
  if (reset) {
    await (await request(`${mockOrigin}/stats/reset`, { method: "POST" })).body.dump();
    return { peak: 0 };
  }
  const body = (await (await request(`${mockOrigin}/stats`)).body.json()) as { streams: { peak: number } };
  return { peak: body.streams.peak };
}

/** Full load for `warmupS` on each kind of request (non-streamed, streamed), spread over the gateways given. */
async function warmUp(settings: Settings, t: Targets, origins: string[]): Promise<void> {
  for (const stream of [false, true]) {
    const gw = t.gateway("fast", stream);
    await closedLoop(origins.map((o) => `${o}${gw.path}`), gw, { connections: settings.connections, durationS: settings.warmupS });
  }
}

/** A closed-loop throughput run with the chosen load generator. */
function throughputRun(settings: Settings, urls: string[], request: { headers: Record<string, string>; body: string }): Promise<ClosedLoopResult> {
  const options = { connections: settings.connections, durationS: settings.throughputS };
  return settings.loader === "wrk" ? closedLoopWrk(urls, request, { ...options, scriptDir: tempDir }) : closedLoop(urls, request, options);
}

/** The 1, 5 and 15 minute load averages when the run started (the report shows them to flag a busy machine). */
let loadAtStart = "";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------------
// The run.

/** Compiles the gateway so the figures are those of `node dist/src/main.js`. */
async function buildGateway(): Promise<void> {
  const child = spawnChild(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json")], {
    env: process.env,
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`npm run build failed:\n${outputTail(child)}`);
}

async function main(): Promise<number> {
  const settings = settingsFrom(process.argv.slice(2));
  if (!settings) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const started = Date.now();
  // Every phase has its own bound; this one catches anything that hangs between them.
  const budgetMs = (settings.quick ? 5 : 15) * 60_000;
  setTimeout(() => {
    log(`the run exceeded ${budgetMs / 60_000} minutes: stopping`);
    void cleanup().finally(() => process.exit(1));
  }, budgetMs).unref();

  if (process.argv.includes("--wrk") && settings.loader !== "wrk") log("--wrk: wrk is not on PATH; measuring throughput with autocannon");
  const loadAverage = os.loadavg().map((l) => l.toFixed(2)).join(", ");
  loadAtStart = loadAverage;
  log(`CPU placement: ${pinning.description}`);
  if (os.loadavg()[0] > os.cpus().length * 0.5) log(`warning: the machine is busy (load average ${loadAverage}); figures will be noisy`);

  log("building the gateway (npm run build)…");
  await buildGateway();

  log("opening the database…");
  database = await openBenchDatabase(process.env, path.join(HERE, "embedded-db.ts"), log);
  const db = database;
  log(`database: ${db.description}`);

  log("starting the mock upstream…");
  const mock = spawnChild(process.execPath, [...process.execArgv, path.join(HERE, "mock-upstream.ts")], { env: process.env, stdinPipe: true });
  const [, mockPort] = await waitForOutput(mock, /"port":(\d+)/, 60_000, "the mock upstream");
  const mockOrigin = `http://127.0.0.1:${mockPort}`;

  const gatewayCores = pinning.pinned ? "0" : undefined;
  log("starting the bare proxy (the floor: a minimal node:http pass-through, on the gateway's core)…");
  const proxy = spawnChild(process.execPath, [...process.execArgv, path.join(HERE, "bare-proxy.ts"), "--upstream", mockOrigin], {
    env: process.env,
    stdinPipe: true,
    cores: gatewayCores,
  });
  const [, proxyPort] = await waitForOutput(proxy, /"port":(\d+)/, 60_000, "the bare proxy");
  const proxyOrigin = `http://127.0.0.1:${proxyPort}`;

  const catalogFile = path.join(tempDir, "bench-catalog.json");
  writeFileSync(catalogFile, JSON.stringify(benchCatalog(mockOrigin), null, 2));
  const env = gatewayEnv(db, catalogFile);

  log("creating the benchmark accounts (switchyard CLI)…");
  // The first command migrates the fresh database; the rest then run side by side, the gateway's start-up with them.
  const benchNew = await createAccount(env, "bench");
  const creditCredits = formatUsd(parseUsd(CREDIT_REQUEST_COST_USD) * BigInt(settings.creditAffordable));
  // One account per round of the credit check, each with credits for exactly `creditAffordable` requests.
  const creditRounds = settings.phases.has("scale") && !settings.profile ? settings.reps : 0;
  const [benchAccount, creditAccounts, gateway] = await Promise.all([
    fundAccount(env, benchNew, "100000"),
    Promise.all(Array.from({ length: creditRounds }, () => createAccount(env, "credit").then((a) => fundAccount(env, a, creditCredits)))),
    settings.profile ? null : (log("starting the gateway…"), startGateway("the gateway", env, gatewayCores, settings.nodeOptions)),
  ]);
  if (settings.profile || !gateway) return profileRun(settings, env, gatewayCores, mockOrigin, proxyOrigin, benchAccount.key);

  const t = targets(gateway.origin, mockOrigin, proxyOrigin, benchAccount.key);
  await checkGateway(t);

  const results: Results = { latency: null, throughput: null, firstChunk: null, streams: null, memory: null, scale: null, ledger: null, warnings: [] };
  const warn = (message: string) => {
    results.warnings.push(message);
    log(`warning: ${message}`);
  };

  sampler = new MemorySampler(gateway.pid);
  sampler.start();
  await sleep(2_000);
  const idleMb = sampler.sample() ?? NaN;
  log(`gateway idle: ${fixed(idleMb, 1)} MB resident`);

  sampler.mark("load:warm-up");
  log(`warming up (${settings.warmupS} s per kind of request)…`);
  await warmUp(settings, t, [gateway.origin]);
  for (const baseline of [t.direct("fast", false), t.proxy("fast", false)]) {
    await closedLoop([url(baseline)], baseline, { connections: settings.connections, durationS: settings.warmupS });
  }

  if (settings.phases.has("latency")) {
    sampler.mark("load:latency");
    const figures = Object.fromEntries(
      MODES.map((m) => [
        m,
        {
          gatewayP50: [] as number[],
          gatewayP99: [] as number[],
          proxyP50: [] as number[],
          proxyP99: [] as number[],
          directP50: [] as number[],
          directP99: [] as number[],
          overheadMs: [] as number[],
        },
      ]),
    ) as NonNullable<Results["latency"]>;
    for (let rep = 1; rep <= settings.reps; rep++) {
      for (const mode of MODES) {
        const stream = mode === "streaming";
        const options = { rate: settings.rate, connections: settings.connections, durationMs: settings.latencyMs, overheadHeader: OVERHEAD_HEADER };
        const gw = await fixedRate(t.gateway("fast", stream), options);
        const bare = await fixedRate(t.proxy("fast", stream), options);
        const direct = await fixedRate(t.direct("fast", stream), options);
        for (const [who, r] of [["gateway", gw], ["bare proxy", bare], ["direct", direct]] as const) {
          if (r.failed) warn(`latency ${mode} (${who}): ${r.failed} of ${r.ok + r.failed} requests failed (${r.firstError})`);
        }
        const f = figures[mode];
        f.gatewayP50.push(gw.p50);
        f.gatewayP99.push(gw.p99);
        f.proxyP50.push(bare.p50);
        f.proxyP99.push(bare.p99);
        f.directP50.push(direct.p50);
        f.directP99.push(direct.p99);
        f.overheadMs.push(...gw.overheadMs);
        log(
          `latency ${mode} #${rep}: gateway p50 ${fixed(gw.p50, 3)} p99 ${fixed(gw.p99, 3)} ms; bare proxy p50 ${fixed(bare.p50, 3)} ` +
            `p99 ${fixed(bare.p99, 3)} ms; direct p50 ${fixed(direct.p50, 3)} p99 ${fixed(direct.p99, 3)} ms`,
        );
      }
    }
    results.latency = figures;
  }

  if (settings.phases.has("throughput")) {
    sampler.mark("load:throughput");
    const figures = Object.fromEntries(
      MODES.map((m) => [
        m,
        { gateway: [] as number[], proxy: [] as number[], direct: [] as number[], cpuUsPerRequest: [] as number[], cpuShare: [] as number[], othersShare: [] as number[] },
      ]),
    ) as NonNullable<Results["throughput"]>;
    for (let rep = 1; rep <= settings.reps; rep++) {
      for (const mode of MODES) {
        const stream = mode === "streaming";
        const gwTarget = t.gateway("fast", stream);
        const cpuBefore = cpuSeconds(gateway.pid) ?? NaN;
        const coreBefore = pinning.pinned ? (coreBusySeconds(0) ?? NaN) : NaN;
        const gw = await throughputRun(settings, [url(gwTarget)], gwTarget);
        const cpu = (cpuSeconds(gateway.pid) ?? NaN) - cpuBefore;
        // What else ran on the gateway's core meanwhile (other processes, or the hypervisor taking it).
        const others = Math.max(0, (coreBusySeconds(0) ?? NaN) - coreBefore - cpu) / gw.seconds;
        const proxyTarget = t.proxy("fast", stream);
        const bare = await throughputRun(settings, [url(proxyTarget)], proxyTarget);
        const directTarget = t.direct("fast", stream);
        const direct = await throughputRun(settings, [url(directTarget)], directTarget);
        for (const [who, r] of [["gateway", gw], ["bare proxy", bare], ["direct", direct]] as const) {
          if (r.failed) warn(`throughput ${mode} (${who}): ${r.failed} requests failed or answered non-2xx (${JSON.stringify(r.statusCodes)})`);
        }
        const f = figures[mode];
        f.gateway.push(gw.rps);
        f.proxy.push(bare.rps);
        f.direct.push(direct.rps);
        f.cpuUsPerRequest.push(gw.ok ? (cpu / gw.ok) * 1e6 : NaN);
        f.cpuShare.push(cpu / gw.seconds);
        f.othersShare.push(others);
        if (others > 0.1) warn(`throughput ${mode} #${rep}: other processes used ${fixed(others * 100, 0)}% of the gateway's core`);
        log(
          `throughput ${mode} #${rep}: gateway ${fixed(gw.rps, 0)} req/s (${fixed((cpu / gw.seconds) * 100, 0)}% CPU` +
            `${Number.isFinite(others) ? `, others ${fixed(others * 100, 0)}% of its core` : ""}); bare proxy ${fixed(bare.rps, 0)} req/s; ` +
            `direct ${fixed(direct.rps, 0)} req/s`,
        );
      }
    }
    results.throughput = figures;
  }

  if (settings.phases.has("first-chunk")) {
    sampler.mark("load:first-chunk");
    const gateway: number[] = [];
    const proxied: number[] = [];
    const direct: number[] = [];
    for (let rep = 1; rep <= settings.reps; rep++) {
      const gw = await firstChunkTimes(t.gateway("paced", true), settings.firstChunkRequests, 60_000);
      const bare = await firstChunkTimes(t.proxy("paced", true), settings.firstChunkRequests, 60_000);
      const d = await firstChunkTimes(t.direct("paced", true), settings.firstChunkRequests, 60_000);
      for (const [who, r] of [["gateway", gw], ["bare proxy", bare], ["direct", d]] as const) {
        if (r.failed) warn(`first chunk (${who}): ${r.failed} requests failed (${r.firstError})`);
      }
      gateway.push(gw.p50);
      proxied.push(bare.p50);
      direct.push(d.p50);
      log(`first chunk #${rep}: gateway p50 ${fixed(gw.p50, 3)} ms; bare proxy p50 ${fixed(bare.p50, 3)} ms; direct p50 ${fixed(d.p50, 3)} ms`);
    }
    results.firstChunk = { gateway, proxy: proxied, direct };
  }

  if (settings.phases.has("streams")) {
    sampler.mark("load:streams");
    const figures: NonNullable<Results["streams"]> = { gateway: [], direct: [], upstreamPeak: [] };
    const expected = { chunks: SHAPES.long.chunks, text: expectedText("long") };
    for (let rep = 1; rep <= settings.reps; rep++) {
      await mockStats(mockOrigin, true);
      const gw = await concurrentStreams(t.gateway("long", true), settings.streams, expected, 60_000);
      figures.upstreamPeak.push((await mockStats(mockOrigin, false)).peak);
      const d = await concurrentStreams(t.direct("long", true), settings.streams, expected, 60_000);
      for (const [who, r] of [["gateway", gw], ["direct", d]] as const) {
        if (r.failures) warn(`${settings.streams} streams (${who}): ${r.failures} streams incomplete (${r.firstError})`);
      }
      figures.gateway.push(gw);
      figures.direct.push(d);
      log(
        `streams #${rep}: gateway ${gw.completed}/${gw.streams} complete, ${gw.chunksLost} chunks lost, ${fixed(gw.seconds, 2)} s ` +
          `(${figures.upstreamPeak.at(-1)} upstream at once); direct ${d.completed}/${d.streams}, ${fixed(d.seconds, 2)} s`,
      );
    }
    results.streams = figures;
  }

  sampler.mark("cooldown");
  log(`waiting ${settings.cooldownS} s after the load…`);
  await sleep(settings.cooldownS * 1000);
  const afterMb = sampler.sample() ?? NaN;
  const peak = sampler.peak((label) => label.startsWith("load:"));
  results.memory = { idleMb, peakMb: peak?.mb ?? NaN, peakPhase: peak?.label.slice(5) ?? "", afterMb, afterSeconds: settings.cooldownS };
  log(`gateway resident memory: idle ${fixed(idleMb, 1)} MB, peak ${fixed(peak?.mb ?? NaN, 1)} MB (${peak?.label}), after ${fixed(afterMb, 1)} MB`);

  const gateways = [gateway];
  if (settings.phases.has("scale")) {
    results.scale = await scalePhase(settings, env, t, gateways, mockOrigin, mock, creditAccounts, db, warn);
  }

  log("stopping the gateways (a clean shutdown settles everything in flight)…");
  sampler.stop();
  await Promise.all(gateways.map(stopGateway));
  results.ledger = await ledgerCheck(db, benchAccount.id);
  for (const [i, round] of (results.scale?.credit ?? []).entries()) Object.assign(round, await creditFinal(db, creditAccounts[i].id, round));

  const info = await runInfo(settings, db);
  const report = renderReport(results, info);
  process.stdout.write(`\n${report}`);
  mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, settings.quick || settings.phases.size < PHASES.length ? "quick.md" : "latest.md");
  writeFileSync(file, report);
  log(`written to ${path.relative(ROOT, file)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return 0;
}

async function scalePhase(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  t: Targets,
  gateways: Gateway[],
  mockOrigin: string,
  mock: ChildProcess,
  creditAccounts: Array<{ id: string; key: string }>,
  db: BenchDatabase,
  warn: (message: string) => void,
): Promise<NonNullable<Results["scale"]>> {
  log("starting a second gateway process…");
  const second = await startGateway("the second gateway", env, pinning.pinned ? "1" : undefined, settings.nodeOptions);
  gateways.push(second);
  let note: string;
  if (pinning.pinned) {
    // The two gateways take one core each; the mock and the load generator may then run on either.
    const moved = repin(process.pid, "0,1") && repin(mock.pid!, "0,1");
    note = moved
      ? "two gateway processes, pinned to cores 0 and 1, sharing the database; the mock upstream and the load generator are no longer pinned and share both cores with them"
      : "two gateway processes, pinned to cores 0 and 1; the mock upstream and the load generator stay on core 1 (re-pinning them failed)";
  } else {
    note = "two gateway processes, not pinned, sharing the database and every core with the mock upstream and the load generator";
  }
  note +=
    settings.loader === "wrk"
      ? `; two wrk processes, ${settings.connections / 2} connections each, one per gateway`
      : `; autocannon spreads its ${settings.connections} connections over both round-robin`;
  if (env.REDIS_URL) note += "; Redis is configured";
  const origins = gateways.map((g) => g.origin);
  log(`warming up both gateways (${settings.warmupS} s per kind of request)…`);
  await warmUp(settings, t, origins);

  const throughput = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const mode of MODES) {
      const gw = t.gateway("fast", mode === "streaming");
      const r = await throughputRun(settings, origins.map((o) => `${o}${gw.path}`), gw);
      if (r.failed) warn(`scale throughput ${mode}: ${r.failed} requests failed or answered non-2xx (${JSON.stringify(r.statusCodes)})`);
      throughput[mode].push(r.rps);
      log(`scale throughput ${mode} #${rep}: ${fixed(r.rps, 0)} req/s over 2 gateways`);
    }
  }

  const credit: CreditCheck[] = [];
  for (const [i, account] of creditAccounts.entries()) credit.push(await creditCheck(settings, origins, account, db, i + 1));
  return { throughput, credit, note };
}

/**
 * An account with credits for exactly `creditAffordable` worst-case requests (the credit model's hold equals its cost)
 * gets three times as many, through both gateways at once. While they run, its balance is read every 20 ms.
 */
async function creditCheck(
  settings: Settings,
  origins: string[],
  account: { id: string; key: string },
  db: BenchDatabase,
  round: number,
): Promise<CreditCheck> {
  const sent = settings.creditAffordable * 3;
  log(`credit check #${round}: ${sent} requests for ${settings.creditAffordable} affordable ones, through ${origins.length} gateways at once…`);
  const client = await connect(db.url);
  let minBalance: bigint | null = null;
  let minAvailable: bigint | null = null;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const { rows } = await client.query<{ balance: string; held: string }>("select balance, held from account where id = $1", [account.id]);
      const balance = BigInt(rows[0].balance);
      const available = balance - BigInt(rows[0].held);
      if (minBalance === null || balance < minBalance) minBalance = balance;
      if (minAvailable === null || available < minAvailable) minAvailable = available;
      await sleep(20);
    }
  })().catch(() => {});
  const body = JSON.stringify({ model: CREDIT_MODEL, messages: PROMPT, max_tokens: CREDIT_MAX_TOKENS });
  const headers = { "content-type": "application/json", authorization: `Bearer ${account.key}` };
  let r: Awaited<ReturnType<typeof closedLoop>>;
  try {
    r = await closedLoop(origins.map((o) => `${o}/api/v1/chat/completions`), { headers, body }, { connections: settings.connections, amount: sent });
  } finally {
    polling = false;
    await poll;
    await client.end().catch(() => {});
  }
  // Requests refused while the last credits were held by requests in flight leave those credits unspent: spend them
  // now, one request at a time, alternating gateways, until both refuse in a row. Then every affordable request has
  // been served unless credit is stranded somewhere.
  let drained = 0;
  let refusedInARow = 0;
  for (let i = 0; refusedInARow < origins.length && i < settings.creditAffordable + 10; i++) {
    const response = await request(`${origins[i % origins.length]}/api/v1/chat/completions`, { method: "POST", headers, body });
    await response.body.dump();
    if (response.statusCode === 200) {
      drained++;
      refusedInARow = 0;
    } else {
      refusedInARow++;
    }
  }
  const { 200: hammered = 0, 402: refused = 0, ...other } = r.statusCodes;
  const served = hammered + drained;
  log(`credit check #${round}: ${hammered} served at once, ${drained} more one at a time`);
  const min = (v: bigint | null) => (v === null ? "?" : formatUsd(v));
  return {
    affordable: settings.creditAffordable,
    sent,
    served,
    servedAtOnce: hammered,
    refused402: refused,
    otherStatuses: other,
    minBalanceUsd: min(minBalance),
    minAvailableUsd: min(minAvailable),
    finalBalanceUsd: "?",
    ledgerSumUsd: "?",
    ledgerSums: false,
    neverNegative: minBalance !== null && minBalance >= 0n,
  };
}

const LEDGER_QUERY = "select balance, (select coalesce(sum(amount), 0) from ledger_entry where account_id = a.id) as sum from account a where id = $1";

/** Balance and ledger of an account, read after the gateways stopped (so that anything batched has been written). */
async function ledgerOf(db: BenchDatabase, accountId: string): Promise<{ balance: bigint; sum: bigint }> {
  const client = await connect(db.url);
  try {
    const { rows } = await client.query<{ balance: string; sum: string }>(LEDGER_QUERY, [accountId]);
    return { balance: BigInt(rows[0].balance), sum: BigInt(rows[0].sum) };
  } finally {
    await client.end();
  }
}

async function ledgerCheck(db: BenchDatabase, accountId: string): Promise<Results["ledger"]> {
  const { balance, sum } = await ledgerOf(db, accountId);
  return { balanceUsd: formatUsd(balance), ledgerSumUsd: formatUsd(sum), sums: balance === sum };
}

async function creditFinal(db: BenchDatabase, accountId: string, check: CreditCheck): Promise<Partial<CreditCheck>> {
  const { balance, sum } = await ledgerOf(db, accountId);
  return {
    finalBalanceUsd: formatUsd(balance),
    ledgerSumUsd: formatUsd(sum),
    ledgerSums: balance === sum,
    neverNegative: check.neverNegative && balance >= 0n,
  };
}

/**
 * `--profile`: a gateway under `node --cpu-prof`, loaded as in the throughput phase (non-streaming, then streaming),
 * stopped cleanly so that it writes its profile; then the self time of each load window, by area and by function.
 */
async function profileRun(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  cores: string | undefined,
  mockOrigin: string,
  proxyOrigin: string,
  key: string,
): Promise<number> {
  const dir = path.join(tempDir, "profile");
  log("starting the gateway under --cpu-prof…");
  const gateway = await startGateway("the gateway", env, cores, [...settings.nodeOptions, "--cpu-prof", `--cpu-prof-dir=${dir}`]);
  const t = targets(gateway.origin, mockOrigin, proxyOrigin, key);
  await checkGateway(t);
  const windows: Array<{ mode: Mode; fromUs: number; toUs: number; rps: number }> = [];
  for (const mode of MODES) {
    const gw = t.gateway("fast", mode === "streaming");
    log(`warming up, then ${settings.throughputS * 2} s of ${mode} load…`);
    await closedLoop([url(gw)], gw, { connections: settings.connections, durationS: settings.warmupS });
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const r = await closedLoop([url(gw)], gw, { connections: settings.connections, durationS: settings.throughputS * 2 });
    windows.push({ mode, fromUs, toUs: Number(process.hrtime.bigint() / 1000n), rps: r.rps });
  }
  log("stopping the gateway (it writes the profile on exit)…");
  await stopGateway(gateway);
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error("The gateway wrote no profile (did it exit cleanly on SIGTERM?)");
  const file = path.join(dir, files[0]);
  const sections = windows.map((w) =>
    profileMarkdown(`${w.mode}, ${fixed(w.rps, 0)} req/s`, summarizeProfile(file, { fromUs: w.fromUs, toUs: w.toUs })),
  );
  const report = [
    "## Switchyard gateway CPU profile under the throughput load",
    "",
    `One gateway under \`node --cpu-prof\` (${pinning.pinned ? "pinned to core 0" : "not pinned"}), ${settings.connections} connections, closed loop; ` +
      "self time per area (package or src/ folder) and per function.",
    "",
    ...sections.flatMap((s) => [s, ""]),
    `Run ${new Date().toISOString()} at ${gitCommit()}.`,
    "",
  ].join("\n");
  process.stdout.write(`\n${report}`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "profile.md"), report);
  // The raw profile too, for Chrome DevTools (Performance → Load profile…) or other tools; not committed.
  copyFileSync(file, path.join(RESULTS, "gateway.cpuprofile"));
  log("written to test/bench/results/profile.md (raw profile: results/gateway.cpuprofile)");
  return 0;
}

/** The commit measured, noting uncommitted changes to the gateway's sources. */
function gitCommit(): string {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const head = git("rev-parse", "--short", "HEAD") || "an unknown commit";
  return git("status", "--porcelain", "--", "src", "package.json") ? `${head} (with uncommitted changes in src/)` : head;
}

async function runInfo(settings: Settings, db: BenchDatabase): Promise<RunInfo> {
  const cpus = os.cpus();
  const shapes = (Object.keys(SHAPES) as ShapeName[]).map((s) => `${s}: ${SHAPES[s].chunks} chunks every ${SHAPES[s].delayMs} ms`).join("; ");
  return {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, Linux ${os.release()}`,
    node: process.version,
    loadAverage: loadAtStart,
    database: db.description,
    pinning: pinning.description,
    quick: settings.quick,
    settings: [
      `repetitions: ${settings.reps}, interleaved (gateway, bare proxy, direct); warm-up ${settings.warmupS} s per kind of request`,
      `latency: open loop, ${settings.rate} req/s for ${settings.latencyMs / 1000} s, round-robin over ${settings.connections} keep-alive connections (own client on undici, µs timing)`,
      `throughput: ${settings.loader === "wrk" ? "wrk (one thread)" : "autocannon"}, ${settings.connections} connections, closed loop, ${settings.throughputS} s`,
      `first chunk: ${settings.firstChunkRequests} sequential requests on one connection against the paced upstream`,
      `streams: ${settings.streams} at once, one connection each; 60 s deadline`,
      `upstream shapes (mock, precomputed bodies, keep-alive): ${shapes}`,
      `gateway: NODE_ENV=production, LOG_LEVEL=warn${settings.nodeOptions.length ? `, node ${settings.nodeOptions.join(" ")}` : ""}; billing on: the models are priced, so every request is admitted against the account's credits, settled to the ledger and recorded as a generation; request-rate limits raised out of reach`,
      `gateway resident memory sampled every 100 ms; "after" is ${settings.cooldownS} s after the last load`,
      `credit check: ${settings.reps} rounds, each a fresh account with credits for ${settings.creditAffordable} requests (${CREDIT_REQUEST_COST_USD} USD each, worst case = cost); ${settings.creditAffordable * 3} sent at once over ${settings.connections} connections spread over both gateways`,
    ],
  };
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
