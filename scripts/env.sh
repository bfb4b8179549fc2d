# Source this (`. scripts/env.sh`) to find the tools scripts/install-deps.sh put in target/tools:
#   PATH            += target/tools/node/node_modules/.bin (wasm-opt, ...), kotlinc, ~/.cargo/bin
#   HUSHWIRE_TOOLS  = target/tools/node/node_modules (require(`${HUSHWIRE_TOOLS}/playwright-core`))
#   NODE_PATH       += HUSHWIRE_TOOLS, so node scripts anywhere can require('playwright-core')
#   KOTLIN_HOME, KOTLIN_STDLIB (kotlin-stdlib.jar), JNA_JAR (/usr/share/java/jna.jar),
#   CHROMIUM (/usr/bin/chromium)
# Safe to source more than once; sets no shell options.

_hw_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
_hw_kotlin_version=$(sed -n 's/^KOTLIN_VERSION=\([^ ]*\).*/\1/p' "$_hw_root/scripts/install-deps.sh")

export HUSHWIRE_TOOLS="$_hw_root/target/tools/node/node_modules"
export KOTLIN_HOME="$_hw_root/target/tools/kotlin-compiler-$_hw_kotlin_version"
export KOTLIN_STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
export JNA_JAR=/usr/share/java/jna.jar
export CHROMIUM=/usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

for _hw_dir in "${CARGO_HOME:-$HOME/.cargo}/bin" "$KOTLIN_HOME/bin" "$HUSHWIRE_TOOLS/.bin"; do
    case ":$PATH:" in
        *":$_hw_dir:"*) ;;
        *) PATH="$_hw_dir:$PATH" ;;
    esac
done
export PATH
case ":${NODE_PATH:-}:" in
    *":$HUSHWIRE_TOOLS:"*) ;;
    *) export NODE_PATH="$HUSHWIRE_TOOLS${NODE_PATH:+:$NODE_PATH}" ;;
esac
unset _hw_root _hw_kotlin_version _hw_dir
