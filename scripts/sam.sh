#!/usr/bin/env bash
# Run the AWS SAM CLI from its own virtual environment (.venv-sam), creating it on first use:
#   bash scripts/sam.sh validate --lint
#   bash scripts/sam.sh build
#   bash scripts/sam.sh deploy --config-env dev
# SAM CLI pins boto3/click/pydantic, so it must not share the project's .venv.
# `sam build` for python3.12 needs a python3.12 on PATH: the pyenv 3.12 bin folder goes first.
# Versions are pinned so a new cfn-lint rule cannot break CI unannounced; bump them here.
set -euo pipefail

SAM_REQUIREMENTS="aws-sam-cli==1.170.0 cfn-lint==1.58.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SAM_VENV:-$ROOT/.venv-sam}"

find_py312() {
  local cand
  for cand in "$HOME"/.pyenv/versions/3.12.*/bin/python3.12; do
    if [ -x "$cand" ]; then echo "$cand"; return 0; fi
  done
  if command -v python3.12 >/dev/null 2>&1; then command -v python3.12; return 0; fi
  command -v python3
}

PY="$(find_py312)"
PY_BIN_DIR="$(dirname "$PY")"
STAMP="$VENV/.ghostid-requirements"

if [ ! -x "$VENV/bin/sam" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$SAM_REQUIREMENTS" ]; then
  echo "sam.sh: installing $SAM_REQUIREMENTS into $VENV (python: $PY)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $SAM_REQUIREMENTS >&2
  echo "$SAM_REQUIREMENTS" >"$STAMP"
fi

export PATH="$PY_BIN_DIR:$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
cd "$ROOT"
exec "$VENV/bin/sam" "$@"
