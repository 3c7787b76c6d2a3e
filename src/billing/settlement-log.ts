import fs from "node:fs";
import path from "node:path";
import { processAlive } from "../persistence/process-alive.js";

/**
 * The settlement write-ahead log: each settlement is appended to a local file (a synchronous write, so it is in the
 * operating system's page cache before the answer's last bytes go to the client) before it waits for its batch to
 * reach the database. What is durable when:
 * - a settlement whose `settle` returned is in the file: it survives the gateway process crashing (even `kill -9`);
 * - the file is fsync'd every `fsyncMs` (default 50 ms, in the background): the settlements of the last few
 *   milliseconds before an operating-system crash or power loss can be lost;
 * - once its batch commits, it is in PostgreSQL, and the log drops it (the file is emptied whenever everything written
 *   to it has been committed).
 * At start, logs left by processes that are gone are replayed through the same batch statement, which skips
 * settlements already recorded, and then deleted. Each process writes its own file (`<pid>-<start time>.jsonl`).
 */
export class SettlementLog {
  private fd: number;
  private written = 0;
  private committed = 0;
  private dirty = false;
  /** The background fsync in progress, if any. */
  private syncing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly file: string,
    fsyncMs: number,
  ) {
    this.fd = fs.openSync(file, "a");
    this.timer = setInterval(() => this.sync(), fsyncMs);
    this.timer.unref();
  }

  static open(dir: string, fsyncMs = 50): SettlementLog {
    fs.mkdirSync(dir, { recursive: true });
    return new SettlementLog(path.join(dir, `${process.pid}-${Date.now()}.jsonl`), fsyncMs);
  }

  /** Appends one record, given as JSON (synchronously: it is in the page cache when this returns). */
  append(json: string): void {
    fs.writeSync(this.fd, `${json}\n`);
    this.written += 1;
    this.dirty = true;
  }

  /** `count` more records (the oldest) are committed to the database; an empty backlog empties the file. */
  committedCount(count: number): void {
    this.committed += count;
    if (this.committed === this.written) {
      fs.ftruncateSync(this.fd, 0);
      this.written = 0;
      this.committed = 0;
    }
  }

  /** Closes the log; the file is removed when everything in it was committed, and kept for replay otherwise. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    if (this.written === this.committed) fs.rmSync(this.file, { force: true });
  }

  /** Flushes the file to disk off the event loop (libuv's thread pool), so requests never wait on the disk. */
  private sync(): void {
    if (!this.dirty || this.syncing) return;
    this.dirty = false;
    this.syncing = new Promise((resolve) =>
      fs.fsync(this.fd, () => {
        this.syncing = null;
        resolve();
      }),
    );
  }

  /**
   * Replays the logs of processes that are no longer running (their pid is in the file name), in batches, then deletes
   * them. `apply` must be idempotent per record.
   */
  static async recover(dir: string, apply: (records: unknown[]) => Promise<void>, batchSize = 200): Promise<number> {
    let files: string[];
    try {
      files = fs.readdirSync(dir).filter((name) => name.endsWith(".jsonl"));
    } catch {
      return 0;
    }
    let replayed = 0;
    for (const name of files) {
      const pid = Number(name.split("-")[0]);
      if (pid === process.pid || processAlive(pid)) continue;
      const file = path.join(dir, name);
      const records = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim().length > 0)
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as unknown];
          } catch {
            // A line cut by the crash was never acknowledged as settled: nothing to replay.
            return [];
          }
        });
      for (let i = 0; i < records.length; i += batchSize) await apply(records.slice(i, i + batchSize));
      fs.rmSync(file, { force: true });
      replayed += records.length;
    }
    return replayed;
  }
}
