#!/usr/bin/env bash
# Checks deploy/Dockerfile's runtime stage without a container engine (none on the build
# machines): every package its `apt-get install` names exists in Debian (apt-cache show), and
# every shared library the built binaries load belongs to one of those packages, to one of their
# dependencies (apt-cache depends --recurse), or to what debian:12-slim already has (the
# Essential set plus apt and its dependencies). A self-test drops libpq5 from the list and
# requires the check to name libpq.so.5 as missing.
#
# Usage: image_packages.sh DOCKERFILE BINARY...  Exit 0 pass, 1 fail, 77 skipped (and why).
set -uo pipefail

SKIP=77
dockerfile=$1
shift
binaries=("$@")

for tool in apt-cache dpkg dpkg-query ldd; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not available (not a Debian system): cannot resolve the image's packages"
    exit $SKIP
  fi
done
if ! grep -q '^  Candidate: [0-9]' <<<"$(apt-cache policy libc6 2>/dev/null)"; then
  echo "SKIP: apt-cache knows no packages (run apt-get update first)"
  exit $SKIP
fi
present=()
for b in "${binaries[@]}"; do
  if [[ -x "$b" ]]; then present+=("$b"); else echo "note: $b is not built; not checked"; fi
done
if ((${#present[@]} == 0)); then
  echo "SKIP: none of the binaries is built (${binaries[*]}): build logoutd first"
  exit $SKIP
fi

# The runtime stage's package list: the words after --no-install-recommends up to '&&' in the
# apt-get install that follows the last FROM.
runtime_packages() {
  awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END{printf "%s", stage}' "$dockerfile" |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
    grep -m1 'apt-get install' |
    sed -e 's/.*--no-install-recommends//' -e 's/&&.*//' |
    tr -s ' \t' '\n' | grep -v '^$'
}

# closure PKG...: the packages and everything they depend on (pre-depends included).
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null |
    sed -n -e 's/^\([a-z0-9][a-z0-9.+-]*\)$/\1/p' -e 's/^ *\(Pre\)\{0,1\}Depends: \([a-z0-9][a-z0-9.+-]*\).*/\2/p' |
    sed 's/:any$//' | sort -u
}

# The slim base image: Essential packages plus apt (and what they depend on).
export -f closure
base_set=$({
  dpkg-query -W -f='${Package} ${Essential}\n' | awk '$2=="yes"{print $1}'
  echo apt
} | sort -u | xargs bash -c 'closure "$@"' _)

# Owning package of every library the binaries load (one dpkg -S call: it is slow).
declare -A lib_path=()
for b in "${present[@]}"; do
  if ! ldd "$b" >/dev/null 2>&1; then
    echo "FAIL ldd cannot read $b (not a dynamically linked executable?)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  while read -r lib path; do
    [[ -e "$path" ]] && lib_path["$lib"]=$path
  done < <(ldd "$b" | awk '$2=="=>" && $3 ~ /^\// {print $1, $3}')
done
# Debian 12 is merged-/usr: dpkg may know a library under /lib or /usr/lib, by link or target.
variants() {
  local p=$1 r
  r=$(readlink -f "$p")
  printf '%s\n' "$p" "$r" "${p/#\/usr\/lib\//\/lib\/}" "${p/#\/lib\//\/usr\/lib\/}" \
    "${r/#\/usr\/lib\//\/lib\/}" "${r/#\/lib\//\/usr\/lib\/}"
}
declare -A path_owner=()
while IFS= read -r line; do
  [[ "$line" == diversion* ]] && continue
  pkgs=${line%%: /*}
  file=${line#*: }
  path_owner["$file"]=${pkgs%%,*}
  path_owner["$file"]=${path_owner["$file"]%%:*}
done < <(for l in "${!lib_path[@]}"; do variants "${lib_path[$l]}"; done | sort -u |
         xargs dpkg -S 2>/dev/null)
declare -A lib_owner=()
for lib in "${!lib_path[@]}"; do
  owner=UNOWNED
  while read -r v; do
    if [[ -n "${path_owner[$v]:-}" ]]; then owner=${path_owner[$v]}; break; fi
  done < <(variants "${lib_path[$lib]}")
  lib_owner["$lib"]=$owner
done

# check PKG...: prints one line per problem; returns non-zero when there is any.
check() {
  local pkgs=("$@") problems=0
  local installable
  installable=$(apt-cache policy "${pkgs[@]}" 2>/dev/null |
                awk '/^[^ ].*:$/ {p = substr($0, 1, length($0) - 1)}
                     /^  Candidate:/ && $2 != "(none)" {print p}')
  for p in "${pkgs[@]}"; do
    if ! grep -qxF "$p" <<<"$installable"; then
      echo "  - runtime package $p does not exist in Debian"
      problems=1
    fi
  done
  local have
  have=$(printf '%s\n' "$base_set" "$(closure "${pkgs[@]}")" | sort -u)
  for lib in "${!lib_owner[@]}"; do
    local owner=${lib_owner[$lib]}
    if [[ "$owner" == UNOWNED ]]; then
      echo "  - $lib belongs to no Debian package (not installable in the image)"
      problems=1
    elif ! grep -qxF "$owner" <<<"$have"; then
      echo "  - $lib (package $owner) is not installed by the runtime stage"
      problems=1
    fi
  done
  return $problems
}

passed=0
failed=0
mapfile -t packages < <(runtime_packages)
echo "runtime packages: ${packages[*]}"
echo "libraries checked: ${#lib_owner[@]} (from ${present[*]})"
if ((${#packages[@]} == 0)); then
  echo "FAIL no apt-get install found in the runtime stage of $dockerfile"
  echo "0 passed, 1 failed"
  exit 1
fi

if out=$(check "${packages[@]}"); then
  echo "ok   runtime packages exist and cover every loaded library"
  passed=$((passed + 1))
else
  echo "FAIL runtime packages"
  echo "$out"
  failed=$((failed + 1))
fi

# Self-test: without libpq5 the check must name libpq.so.5.
reduced=()
for p in "${packages[@]}"; do [[ "$p" == libpq5 ]] || reduced+=("$p"); done
if [[ -n "${lib_owner[libpq.so.5]:-}" ]]; then
  if out=$(check "${reduced[@]}"); then
    echo "FAIL self-test: dropping libpq5 went unnoticed"
    failed=$((failed + 1))
  elif grep -q 'libpq.so.5' <<<"$out"; then
    echo "ok   self-test: dropping libpq5 is caught"
    passed=$((passed + 1))
  else
    echo "FAIL self-test: dropping libpq5 reported something else: $out"
    failed=$((failed + 1))
  fi
  # Self-test: a misspelt package is caught.
  if out=$(check "${packages[@]}" libgrpc++1.5); then
    echo "FAIL self-test: a nonexistent package went unnoticed"
    failed=$((failed + 1))
  else
    echo "ok   self-test: a nonexistent package is caught"
    passed=$((passed + 1))
  fi
else
  echo "FAIL logoutd does not load libpq.so.5 (self-test premise)"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
((failed == 0))
