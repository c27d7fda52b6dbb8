# Shared by the scripts: install missing Debian packages (as root) and set up the project.
# Usage: source scripts/lib.sh; need_debian <command-or-path>:<package> ...; project_setup

need_debian() {
  local missing=() spec cmd pkg
  for spec in "$@"; do
    cmd=${spec%%:*} pkg=${spec##*:}
    if [[ $cmd == /* ]]; then [ -e "$cmd" ] && continue; else command -v "$cmd" >/dev/null && continue; fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$(basename "$0"): missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
