#!/usr/bin/env node
// The `switchyard` command. It runs the TypeScript sources through tsx, so a fresh clone works after `npm install`
// with no build step; production deployments can run the compiled `node dist/src/main.js` instead.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The project's tsconfig (legacy decorators) applies wherever the command is run from.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
await import("../src/main.ts");
