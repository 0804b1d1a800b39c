#!/bin/sh
# Install Shieldwall from this checkout on Debian 12 / Ubuntu 24.04, as root.
#
# The system Python refuses `pip install` into itself (PEP 668, "externally-managed-
# environment"), so Shieldwall gets its own virtual environment, made with the system's
# /usr/bin/python3, and one link on PATH -- the way pipx does it, without needing pipx:
#
#   /opt/shieldwall/                 virtual environment holding the built wheel (not editable)
#   /usr/local/bin/shieldwall        link to /opt/shieldwall/bin/shieldwall
#   /etc/systemd/system/shieldwall-{hub,agent}.service   units (installed, not enabled)
#   /etc/shieldwall/agent.toml       sample agent configuration (kept if present)
#
# Debian packages it needs and installs when missing: python3, python3-venv, nftables, libnftables1,
# and gcc, python3-dev, libpcre2-dev to build the compiled log-matching engine (without them,
# e.g. with --no-apt, Shieldwall runs its pure-Python engine: same results, ~3x slower).
# Everything else comes from PyPI. Running it again upgrades in place; state in
# /var/lib/shieldwall is never touched. Then: `shieldwall up`.
#
# Usage: sh deploy/install.sh [--prefix DIR] [--bin-dir DIR] [--unit-dir DIR] [--no-apt]
# Exit codes: 0 installed; 2 bad usage; 3 this host lacks something (root, apt, python3).
set -eu

prefix=/opt/shieldwall
bin_dir=/usr/local/bin
unit_dir=/etc/systemd/system
config_dir=/etc/shieldwall
use_apt=1
python=/usr/bin/python3
source_dir=$(cd "$(dirname "$0")/.." && pwd)

die() { code=$1; shift; echo "install.sh: error: $*" >&2; exit "$code"; }
say() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --bin-dir) bin_dir=${2:?--bin-dir needs a folder}; shift 2 ;;
    --unit-dir) unit_dir=${2:?--unit-dir needs a folder}; shift 2 ;;
    --config-dir) config_dir=${2:?--config-dir needs a folder}; shift 2 ;;
    --no-apt) use_apt=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (see --help)" ;;
  esac
done

[ -f "$source_dir/pyproject.toml" ] || die 2 "run me from a Shieldwall checkout ($source_dir has no pyproject.toml)"

if [ "$use_apt" = 1 ]; then
  [ "$(id -u)" = 0 ] || die 3 "run as root (sudo sh $0): it installs Debian packages; or pass --no-apt"
  command -v apt-get >/dev/null 2>&1 || die 3 "no apt-get: install python3-venv and nftables yourself, then pass --no-apt"
  missing=""
  for package in python3 python3-venv nftables libnftables1 gcc python3-dev libpcre2-dev; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
  done
  if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

[ -x "$python" ] || die 3 "$python not found: install Debian's python3 (apt-get install python3 python3-venv)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die 3 "Shieldwall needs Python 3.11 or newer; $python is $("$python" --version 2>&1)"

say "making a fresh virtual environment in $prefix with $python"
"$python" -m venv --clear "$prefix" || die 3 "could not make a venv in $prefix (apt-get install python3-venv)"

wheel_dir=$(mktemp -d)
trap 'rm -rf "$wheel_dir"' EXIT
say "building the wheel from $source_dir"
"$prefix/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$wheel_dir" "$source_dir"
set -- "$wheel_dir"/shieldwall-*.whl
[ -f "$1" ] || die 3 "the build made no wheel in $wheel_dir"
say "installing $(basename "$1") into $prefix (not editable)"
"$prefix/bin/python" -m pip install -q --disable-pip-version-check "$1"

mkdir -p "$bin_dir"
ln -sf "$prefix/bin/shieldwall" "$bin_dir/shieldwall"

# Units point at the link, so an upgrade (a new venv) needs no unit change.
mkdir -p "$unit_dir"
for unit in "$source_dir"/deploy/*.service; do
  sed "s#/usr/local/bin/shieldwall#$bin_dir/shieldwall#g" "$unit" >"$unit_dir/$(basename "$unit")"
done
mkdir -p "$config_dir"
[ -e "$config_dir/agent.toml" ] || cp "$source_dir/deploy/agent.toml" "$config_dir/agent.toml"
if [ -d /run/systemd/system ] && [ "$unit_dir" = /etc/systemd/system ]; then
  systemctl daemon-reload
fi

say "installed $("$bin_dir/shieldwall" --version) as $bin_dir/shieldwall"
say "next: shieldwall up        (hub + agent on this host; Ctrl-C stops)"
say "  or: systemctl enable --now shieldwall-hub shieldwall-agent   (edit $config_dir/agent.toml first)"
