// GitHub's side of a webhook, from GitHub's own npm packages (tests/webhooks.rs copies
// this file next to their node_modules in target/octokit):
//   node octokit_webhooks.mjs example EVENT   prints the examples of EVENT from
//                                            @octokit/webhooks-examples (a JSON array)
//   node octokit_webhooks.mjs sign            signs stdin with KOTA_WEBHOOK_SECRET using
//                                            @octokit/webhooks-methods' sign(): prints
//                                            the X-Hub-Signature-256 value
import { sign, verify } from "@octokit/webhooks-methods";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [mode, event] = process.argv.slice(2);
if (mode === "example") {
  const require = createRequire(import.meta.url);
  const all = require("@octokit/webhooks-examples/api.github.com/index.json");
  const found = all.find((e) => e.name === event);
  if (!found) throw new Error(`no examples of ${event}`);
  process.stdout.write(JSON.stringify(found.examples));
} else if (mode === "sign") {
  const body = readFileSync(0, "utf8");
  const secret = process.env.KOTA_WEBHOOK_SECRET;
  const signature = await sign(secret, body);
  if (!(await verify(secret, body, signature))) throw new Error("sign/verify disagree");
  process.stdout.write(signature);
} else {
  throw new Error(`unknown mode ${mode}`);
}
