// Parse Mermaid diagrams with Mermaid itself, as GitHub does before rendering them.
// Reads a JSON array of diagram texts on stdin; prints one JSON line per diagram:
// {"ok", "type", "error"}; exits 1 if any does not parse.
import { JSDOM } from "jsdom";

// Mermaid's parser sanitizes labels with DOMPurify, which needs a DOM.
const { window } = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let status = 0;
for (const text of JSON.parse(Buffer.concat(chunks).toString("utf8"))) {
  try {
    const { diagramType } = await mermaid.parse(text);
    console.log(JSON.stringify({ ok: true, type: diagramType, error: null }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, type: null, error: String(error.message ?? error) }));
    status = 1;
  }
}
process.exit(status);
