#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine, idempotently:
#   - a virtual environment under .venv with the pinned dependencies (constraints.txt)
#   - the Debian packages listed in scripts/apt-packages.txt (when there are any)
# Re-running is cheap: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "error: Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=/path/to/python3.11)"
    exit 2
fi

# Debian packages (real Prometheus, Alertmanager, ...), only those not installed yet.
packages=()
if [[ -f scripts/apt-packages.txt ]]; then
    while read -r package _; do
        [[ -z "$package" || "$package" == \#* ]] && continue
        dpkg -s "$package" >/dev/null 2>&1 || packages+=("$package")
    done < scripts/apt-packages.txt
fi
if ((${#packages[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    log "installing Debian packages: ${packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The virtual environment, rebuilt only when the dependency pins change.
if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.setup-stamp
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    log "installing Python dependencies into .venv (a few minutes the first time; log: .venv/install.log)"
    {
        .venv/bin/python -m pip install --upgrade pip &&
            .venv/bin/python -m pip install --progress-bar off -c constraints.txt -e '.[test,runtime,bench]'
    } > .venv/install.log 2>&1 || { tail -20 .venv/install.log >&2; log "error: the install failed (see .venv/install.log)"; exit 1; }
    grep -E '^Successfully installed' .venv/install.log | tail -1 | cut -c1-160 >&2 || true
    echo "$wanted" > "$stamp"
fi
# The Node tools the tests use (npm registry): the CRD schema validators and Mermaid's parser,
# each rebuilt only when its lock changes.
if command -v npm >/dev/null 2>&1; then
    for tool in tools/crd-validate tools/mermaid-parse; do
        lock=$(sha256sum "$tool/package-lock.json" | cut -d' ' -f1)
        if [[ ! -f $tool/node_modules/.stamp || $(cat "$tool/node_modules/.stamp") != "$lock" ]]; then
            log "installing $tool (npm)"
            npm ci --prefix "$tool" --no-audit --no-fund --loglevel=error >/dev/null
            echo "$lock" > "$tool/node_modules/.stamp"
        fi
    done
else
    log "warning: npm not found; the custom-resource schema and Mermaid tests will fail"
fi
log "ready: .venv ($(.venv/bin/python --version))"
