/** Where a command writes: plain text for people, or exactly one JSON object for scripts (`--json`). */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function report(io: CliIO, json: boolean, data: Record<string, unknown>, text: string): void {
  io.stdout(json ? `${JSON.stringify(data)}\n` : `${text}\n`);
}
