#!/bin/sh
# Installs what the FAQ tests need: Debian's mecab-ipadic (the reading dictionary that
# kana → kanji search is built from, crates/faq/src/search/dictionary.rs), and for the
# browser test (crates/faq/tests/browser.rs) chromium, node + npm, and playwright-core in
# tests/faq-browser/node_modules.
# Idempotent and quick when everything is present. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."

missing=""
[ -f /usr/share/mecab/dic/ipadic/Noun.csv ] || missing="$missing mecab-ipadic"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# Japanese glyphs, so screenshots show text rather than empty boxes.
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || missing="$missing fonts-ipafont-gothic"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists may never have been fetched.
    if ! apt-get install -y --no-install-recommends $missing; then
        apt-get update
        apt-get install -y --no-install-recommends $missing
    fi
fi

if [ ! -f tests/faq-browser/node_modules/playwright-core/package.json ]; then
    # playwright-core never downloads browsers; the tests use /usr/bin/chromium.
    (cd tests/faq-browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
        || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
fi
echo "faq test dependencies: mecab-ipadic $(dpkg-query -W -f='${Version}' mecab-ipadic), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version), playwright-core $(node -p "require('./tests/faq-browser/node_modules/playwright-core/package.json').version")"
