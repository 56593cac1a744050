#!/usr/bin/env bash
# Fake npx for test/scripts/bootstrap.test.ts: records its argv (one JSON array per line in $FAKE_LOG_DIR/npx.log).
node -e 'require("fs").appendFileSync(process.env.FAKE_LOG_DIR + "/npx.log", JSON.stringify(process.argv.slice(1)) + "\n")' -- "$@"
