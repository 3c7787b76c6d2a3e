import "reflect-metadata";
import { runCli } from "./cli/main.js";

/**
 * The entry point of the `switchyard` command (and of `node dist/src/main.js` in production): with no arguments it
 * serves; see `switchyard --help` for the other commands.
 */
process.exitCode = await runCli(process.argv.slice(2));
