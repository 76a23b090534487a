// RFC 8785 defines JCS through ECMAScript: JSON.stringify for strings and literals,
// Number.prototype.toString for numbers and the default (UTF-16 code unit) sort for member
// names. Run in Node.js, these few lines are the reference the Python encoder is checked against.
import { readFileSync } from "node:fs";

function canonicalize(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  return (
    "{" +
    Object.keys(value)
      .sort()
      .map((key) => JSON.stringify(key) + ":" + canonicalize(value[key]))
      .join(",") +
    "}"
  );
}

// Numbers arrive as IEEE 754 bit patterns (hex) so that no parser rounds them first.
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const numbers = input.numbers.map((hex) => Buffer.from(hex, "hex").readDoubleBE(0));
process.stdout.write(
  JSON.stringify({
    numbers: numbers.map(canonicalize),
    documents: input.documents.map(canonicalize),
  }),
);
