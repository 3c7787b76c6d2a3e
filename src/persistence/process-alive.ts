/** Whether a process with this id is running (possibly another user's); false for anything that is no process id. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone this process may not signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
