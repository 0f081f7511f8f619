# Shared helpers for scripts/setup.d/*.sh (sourced, not run). Each piece is idempotent and quiet.
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# apt_install PKG...: installs the Debian packages that are missing (one apt-get update at most).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${TROVE_APT_UPDATED:-}" ]; then $SUDO apt-get update -qq; export TROVE_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# make_venv DIR CHECK_CMD PIP_ARGS...: a virtualenv inside the work tree (gitignored), rebuilt only
# when CHECK_CMD (run with DIR/bin first on PATH) fails.
make_venv() {
  local dir="$root/$1" check="$2"; shift 2
  if [ -x "$dir/bin/python" ] && PATH="$dir/bin:$PATH" bash -c "$check" >/dev/null 2>&1; then return 0; fi
  apt_install python3 python3-venv
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check --no-cache-dir "$@"
}
