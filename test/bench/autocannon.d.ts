/** The part of autocannon 9's programmatic API the benchmark uses (the package ships no types). */
declare module "autocannon" {
  interface Options {
    /** One URL, or several: connections are spread over them round-robin. */
    url: string | string[];
    method?: "GET" | "POST";
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Stop after this many requests instead of after `duration`. */
    amount?: number;
    pipelining?: number;
    /** Seconds without a response before a request counts as timed out. */
    timeout?: number;
    overallRate?: number;
  }

  interface Result {
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
    statusCodeStats: Record<string, { count: number }>;
    requests: { total: number; sent: number; mean: number };
  }

  function autocannon(options: Options): PromiseLike<Result> & { stop(): void };
  export default autocannon;
}
