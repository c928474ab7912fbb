#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: installs what is missing, then builds.
#   scripts/setup.sh            system packages + Python environment + release build
#   scripts/setup.sh --no-build  only the packages (used by scripts that build themselves)
#   scripts/setup.sh --torch     also PyTorch's CPU build (Benchmarks/requirements-torch.txt), the
#                                peer of `mlbench cnn` and the generator of the CNN test fixtures;
#                                never needed to build, test, train or serve
# Everything the project needs is installed here and nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
torch=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --torch) torch=1 ;;
    *) printf 'setup.sh: unknown option %s\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages ---------------------------------------------------------------------------
apt_packages=(libopenblas-dev liblapacke-dev pkg-config libpng-dev libturbojpeg0-dev libopenmpi-dev openmpi-bin python3-venv curl)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment (fixtures, interop tests, peers; never needed to train or serve) --------
# The list grows as issues need it; requirements live in one file.
venv=.venv
req=Benchmarks/requirements.txt
stamp="$venv/.installed-$(sha1sum "$req" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "preparing the Python environment in $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  rm -f "$venv"/.installed-* && touch "$stamp"
fi
if [ "$torch" -eq 1 ]; then
  torch_req=Benchmarks/requirements-torch.txt
  torch_stamp="$venv/.torch-$(sha1sum "$torch_req" | cut -c1-12)"
  if [ ! -f "$torch_stamp" ]; then
    log "installing PyTorch (CPU build) into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$torch_req"
    rm -f "$venv"/.torch-* && touch "$torch_stamp"
  fi
fi

# --- build -------------------------------------------------------------------------------------
if [ "$build" -eq 1 ]; then
  log "building (release)"
  swift build -c release
fi
