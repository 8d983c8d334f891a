# Sourced by .ci/run: starts the chromadb package's Chroma server for the tests on a fixed port,
# data in a temporary folder, waits for its heartbeat and exports TEST_CHROMA_URL.
CHROMA_TEST_PORT="${CHROMA_TEST_PORT:-18000}"
export TEST_CHROMA_URL="http://127.0.0.1:${CHROMA_TEST_PORT}"
if curl -fsS "${TEST_CHROMA_URL}/api/v2/heartbeat" >/dev/null 2>&1; then
  echo "[ci] chroma already answering on ${TEST_CHROMA_URL}"
else
  CHROMA_TEST_DIR="$(mktemp -d -t coachd-chroma.XXXXXX)"
  echo "[ci] starting chroma on ${TEST_CHROMA_URL} (data in ${CHROMA_TEST_DIR})"
  deno run -A node_modules/chromadb/dist/cli.mjs run --path "${CHROMA_TEST_DIR}" \
    --host 127.0.0.1 --port "${CHROMA_TEST_PORT}" >"${CHROMA_TEST_DIR}.log" 2>&1 &
  CHROMA_TEST_PID=$!
  trap 'kill "${CHROMA_TEST_PID}" 2>/dev/null || true' EXIT
  for _ in $(seq 1 300); do
    curl -fsS "${TEST_CHROMA_URL}/api/v2/heartbeat" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! curl -fsS "${TEST_CHROMA_URL}/api/v2/heartbeat" >/dev/null 2>&1; then
    echo "[ci] chroma did not start; its log:" >&2
    cat "${CHROMA_TEST_DIR}.log" >&2
    exit 1
  fi
fi
