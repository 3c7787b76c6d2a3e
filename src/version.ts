import pkg from "../package.json" with { type: "json" };

/** The running Switchyard version (from package.json). */
export const VERSION: string = pkg.version;
