#!/usr/bin/env python3
"""One source of truth for error codes: fail if any list drifts from the core's.

The source of truth is `hushwire::ERROR_CODES` in crates/hushwire/src/error.rs (its unit test
checks it against every `Error::code()`). This script checks, in order and without extras:

* `Error::code()` in the core returns exactly those strings;
* docs/PROTOCOL.md section 11 lists them, and lists the binding-level codes below;
* the JS package: `MESSAGES` in bindings/wasm/js/core.js, the `HushwireErrorCode` union in
  bindings/wasm/js/index.d.ts, every code the JS wrapper and the wasm glue (src/lib.rs) raise;
* the UniFFI error enum (bindings/uniffi/src/error.rs), its README's list, and the generated
  Kotlin, Swift and Python (bindings/uniffi/generated/), including that each variant is named
  after its code.

Codes that exist only in a binding are listed once, here, with the reason.

    python3 scripts/check-error-codes.py        # exit 1 and a list of drifts on failure
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Binding-level codes: raised by a binding itself, never by the core. Keep docs/PROTOCOL.md
# section 11 in step (this script checks it).
BINDING_ONLY = {
    "js": {
        "NOT_INITIALIZED": "a call was made before init() completed",
        "INSTANCE_POISONED": "the WebAssembly instance trapped earlier and fails closed",
        "OBJECT_FREED": "the object was used after free() / disposal",
        "INIT_FAILED": "init() could not fetch or instantiate the module",
        "STORAGE_UNAVAILABLE": "the storage-key vault's IndexedDB or WebCrypto operation failed",
    },
    "uniffi": {
        "CALLBACK_FAILED": "an app callback threw something that is not a HushwireError",
    },
}

problems = []


def read(rel):
    return (ROOT / rel).read_text(encoding="utf-8")


def expect(what, expected, actual):
    if list(expected) != list(actual):
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        problems.append(
            f"{what}: expected {list(expected)}\n    got      {list(actual)}\n"
            f"    missing {missing}, unexpected {extra}"
        )


def block(text, start, what):
    """The text from the first match of `start` to the matching closing brace."""
    m = re.search(start, text)
    if not m:
        problems.append(f"{what}: not found (/{start}/)")
        return ""
    i = text.index("{", m.end() - 1) if text[m.end() - 1] != "{" else m.end() - 1
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i : j + 1]
    return text[i:]


def camel(code):
    return "".join(w.capitalize() for w in code.split("_"))


# --- the core -----------------------------------------------------------------------------
core_rs = read("crates/hushwire/src/error.rs")
m = re.search(r"pub const ERROR_CODES: &\[&str\] = &\[(.*?)\];", core_rs, re.S)
if not m:
    sys.exit("check-error-codes: ERROR_CODES not found in crates/hushwire/src/error.rs")
CORE = re.findall(r'"([A-Z_]+)"', m.group(1))
code_fn = block(core_rs, r"pub fn code\(&self\) -> &'static str \{", "core Error::code")
expect("core Error::code() return values", CORE, re.findall(r'=> "([A-Z_]+)"', code_fn))

# --- the spec -----------------------------------------------------------------------------
protocol = read("docs/PROTOCOL.md")
m = re.search(r"^## 11\. Error codes\n(.*?)^## ", protocol, re.S | re.M)
if not m:
    problems.append("docs/PROTOCOL.md: section 11 (Error codes) not found")
else:
    # The lists come before the first subsection (11.1 maps rejections to codes).
    parts = re.split(r"^### ", m.group(1), flags=re.M)
    sec = parts[0]
    # Every code the rejection table names is a core code.
    table_codes = set(re.findall(r"`([A-Z][A-Z_]{3,})`", "".join(parts[1:])))
    for c in sorted(table_codes - set(CORE)):
        problems.append(f"docs/PROTOCOL.md section 11.1 names {c}, which is not in ERROR_CODES")
    core_part, _, binding_part = sec.partition("Binding-level codes")
    expect("docs/PROTOCOL.md section 11, core codes", CORE, re.findall(r"`([A-Z][A-Z_]+)`", core_part))
    expect(
        "docs/PROTOCOL.md section 11, binding-level codes",
        sorted(c for codes in BINDING_ONLY.values() for c in codes),
        sorted(re.findall(r"`([A-Z][A-Z_]+)`", binding_part)),
    )

readme = read("bindings/uniffi/README.md")
m = re.search(r"^## Errors\n(.*?)plus one binding-only code, `([A-Z_]+)`", readme, re.S | re.M)
if not m:
    problems.append("bindings/uniffi/README.md: the code list of section Errors not found")
else:
    listed = re.findall(r"`([A-Z][A-Z_]+)`", m.group(1))
    expect("bindings/uniffi/README.md section Errors", CORE + list(BINDING_ONLY["uniffi"]), listed + [m.group(2)])

# --- JS: wrapper, types, glue -------------------------------------------------------------
core_js = read("bindings/wasm/js/core.js")
messages = block(core_js, r"const MESSAGES = \{", "core.js MESSAGES")
expect("bindings/wasm/js/core.js MESSAGES keys", CORE, re.findall(r"^\s*([A-Z][A-Z_]+):", messages, re.M))
js_only = BINDING_ONLY["js"]
raised = sorted(set(re.findall(r"HushwireError\(\s*'([A-Z_]+)'", core_js)))
# Every code the wrapper raises itself is a core code or one of its listed JS-only codes, and
# each JS-only code is really raised.
expect("codes outside the core list raised by bindings/wasm/js/core.js", sorted(js_only), sorted(set(raised) - set(CORE)))

dts = read("bindings/wasm/js/index.d.ts")
m = re.search(r"export type HushwireErrorCode =(.*?);", re.sub(r"/\*.*?\*/", "", dts, flags=re.S), re.S)
if not m:
    problems.append("bindings/wasm/js/index.d.ts: type HushwireErrorCode not found")
else:
    union = re.findall(r"\|\s*'([A-Z_]+)'", m.group(1))
    expect("bindings/wasm/js/index.d.ts HushwireErrorCode", CORE + list(js_only), union)

glue = read("bindings/wasm/src/lib.rs")
stray = sorted(set(re.findall(r'coded\("([A-Z_]+)"', glue)) - set(CORE))
expect("codes the wasm glue (bindings/wasm/src/lib.rs) raises outside the core list", [], stray)

# --- UniFFI: the Rust enum and the generated sources ---------------------------------------
ffi_only = list(BINDING_ONLY["uniffi"])
FFI = CORE + ffi_only


def variants(text, pattern, what, doc=r'Always `"([A-Z_]+)"`'):
    """(variant name, code its docs give) pairs, in order; `Other` has no fixed code. By default
    the code is the one the `code` field's doc promises (`Always "CODE"`)."""
    found = []
    for m in re.finditer(pattern, text, re.M):
        name = m.group(1)
        doc_match = re.search(doc, text[m.end() : m.end() + 400])
        found.append((name, doc_match.group(1) if doc_match and name != "Other" else None))
    if not found:
        problems.append(f"{what}: no error variants found")
    return found


def check_variants(what, found):
    expect(f"{what}: variants", [camel(c) for c in FFI] + ["Other"], [n for n, _ in found])
    expect(f"{what}: codes in the variant docs", FFI, [c for _, c in found if c])
    for name, code in found:
        if code and camel(code) != name:
            problems.append(f"{what}: variant {name} documents code {code}")


ffi_rs = read("bindings/uniffi/src/error.rs")
enum = block(ffi_rs, r"pub enum HushwireError \{", "uniffi HushwireError")
check_variants("bindings/uniffi/src/error.rs HushwireError", variants(enum, r"^    (\w+) \{", "uniffi enum"))
mapping = block(ffi_rs, r"fn from\(e: hushwire::Error\) -> Self \{", "uniffi From<hushwire::Error>")
expect(
    "bindings/uniffi/src/error.rs From<hushwire::Error> targets",
    [camel(c) for c in CORE],
    re.findall(r"=> HushwireError::(\w+) \{", mapping)[: len(CORE)],
)
literals = sorted(set(re.findall(r'code: "([A-Z_]+)"\.into\(\)', ffi_rs)) - set(FFI))
expect("code literals in bindings/uniffi/src/error.rs outside the lists", [], literals)

gen = ROOT / "bindings/uniffi/generated"
kt = (gen / "kotlin/uniffi/hushwire_ffi/hushwire_ffi.kt").read_text(encoding="utf-8")
check_variants(
    "generated Kotlin HushwireException",
    variants(block(kt, r"sealed class HushwireException: kotlin\.Exception\(\) \{", "Kotlin"), r"\n    class (\w+)\(", "Kotlin"),
)
swift = (gen / "swift/hushwire_ffi.swift").read_text(encoding="utf-8")
check_variants(
    "generated Swift HushwireError",
    variants(block(swift, r"public enum HushwireError: [^{]*\{", "Swift"), r"\n    case (\w+)\(", "Swift"),
)
py = (gen / "python/hushwire_ffi.py").read_text(encoding="utf-8")
# Python has no field docs: the code is the one the class docstring starts with.
check_variants(
    "generated Python HushwireError",
    variants(py, r"^    class (\w+)\(_UniffiTempHushwireError\):", "Python", doc=r'\A\s*"""\s*`([A-Z_]+)`'),
)

if problems:
    print("check-error-codes: error code lists drifted from hushwire::ERROR_CODES:", file=sys.stderr)
    for p in problems:
        print("  - " + p, file=sys.stderr)
    sys.exit(1)
print(
    f"check-error-codes: {len(CORE)} core codes and {sum(map(len, BINDING_ONLY.values()))} binding-level "
    "codes agree across core, PROTOCOL.md section 11, JS (core.js, index.d.ts, glue), UniFFI enum, Kotlin, Swift, Python"
)
