# Browser test: Debian's Chromium (driven by playwright-core from npm) and build/wscat
# against build/chat_server. Included by the main Makefile.
#   make browser-deps   installs Chromium, Node.js and npm if missing, then playwright-core
#   make browser        runs tests/browser/run.js (screenshot in build/chat.png)
# This file is included above the main Makefile's `all:`, so its first rule would
# become what a bare `make` builds.

EXAMPLES     += $(BUILD)/chat_server $(BUILD)/wscat
TEST_DEPS    += browser-deps
TEST_TARGETS += browser

BROWSER_DIR   := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.ws-h-installed

.PHONY: browser browser-deps
# Debian's nodejs comes without npm, NodeSource's with it (and conflicts with the npm
# package): ask for npm only when there is none.
browser-deps:
	@sh tests/deps.sh chromium nodejs
	@command -v npm >/dev/null 2>&1 || sh tests/deps.sh npm
	@$(MAKE) --no-print-directory $(BROWSER_STAMP)

# Reinstalled whenever the pinned versions change; never downloads a browser (Debian's
# /usr/bin/chromium is the one used).
$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

browser: browser-deps $(BUILD)/chat_server $(BUILD)/wscat
	node $(BROWSER_DIR)/run.js
