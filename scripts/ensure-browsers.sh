#!/usr/bin/env bash
# Makes sure the browsers the Guardlens end-to-end tests drive are installed: Debian's `chromium`
# (/usr/bin/chromium) and `firefox-esr` (/usr/bin/firefox-esr), and fonts for the scripts Guardlens speaks
# beyond Latin (Thai: `fonts-thai-tlwg`; Devanagari for Hindi, and Thai too: `fonts-noto-core`), without which
# the browsers draw Hindi and Thai as boxes. A fast no-op when all exist. When one is missing, installs the
# Debian packages if running as root; otherwise says which command to run and fails.
#
# Overridable for other setups: GUARDLENS_CHROMIUM and GUARDLENS_FIREFOX name the executables to check
# (the test harness honours the same variables).
set -euo pipefail

chromium_bin="${GUARDLENS_CHROMIUM:-/usr/bin/chromium}"
firefox_bin="${GUARDLENS_FIREFOX:-/usr/bin/firefox-esr}"

# Whether fontconfig knows a font for a language (`th`, `hi`); without fc-list, whether the package's files exist.
has_font_for() {
  local lang="$1" dir="$2"
  if command -v fc-list >/dev/null 2>&1; then
    [[ -n "$(fc-list ":lang=$lang" family 2>/dev/null | head -n 1)" ]]
  else
    [[ -d "$dir" ]]
  fi
}

missing_packages=()
[[ -x "$chromium_bin" ]] || missing_packages+=(chromium)
[[ -x "$firefox_bin" ]] || missing_packages+=(firefox-esr)
has_font_for th /usr/share/fonts/truetype/tlwg || missing_packages+=(fonts-thai-tlwg)
has_font_for hi /usr/share/fonts/truetype/noto || missing_packages+=(fonts-noto-core)

if [[ ${#missing_packages[@]} -eq 0 ]]; then
  exit 0
fi

echo "ensure-browsers: missing ${missing_packages[*]} (looked for $chromium_bin, $firefox_bin and fonts for Thai and Hindi)." >&2

if [[ "$(id -u)" -ne 0 ]]; then
  cat >&2 <<'EOF'
ensure-browsers: the end-to-end tests need Chromium, Firefox ESR and fonts for Thai and Hindi. Install them with:

  sudo apt-get update && sudo apt-get install -y chromium firefox-esr fonts-thai-tlwg fonts-noto-core

then run the tests again.
EOF
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browsers: apt-get is not available; install ${missing_packages[*]} with your package manager." >&2
  exit 1
fi

echo "ensure-browsers: installing ${missing_packages[*]} with apt-get." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing_packages[@]}"

for bin in "$chromium_bin" "$firefox_bin"; do
  if [[ ! -x "$bin" ]]; then
    echo "ensure-browsers: $bin is still missing after installing ${missing_packages[*]}." >&2
    exit 1
  fi
done
echo "ensure-browsers: installed ${missing_packages[*]}." >&2
