#!/usr/bin/env bash
# pixelshift with curl and jq: a token with the client-credentials grant, a batch with one branching graph
# (a 320 px WebP and a 160×160 PNG), then polling until it ends. The test suite runs it against the real
# stack (test/clients/curl.test.ts). Prints the batch id and final state as the last line, as JSON.
#
#   PIXELSHIFT_URL=http://127.0.0.1:3000 PIXELSHIFT_CLIENT_ID=… PIXELSHIFT_CLIENT_SECRET=… \
#   PIXELSHIFT_INPUT_BUCKET=photos PIXELSHIFT_INPUT_KEY=in/cat.jpg \
#   PIXELSHIFT_OUTPUT_BUCKET=photos PIXELSHIFT_OUTPUT_PREFIX=out/cat bash examples/curl.sh
set -euo pipefail
command -v jq >/dev/null || { echo "this example needs jq" >&2; exit 1; }
: "${PIXELSHIFT_URL:?}" "${PIXELSHIFT_CLIENT_ID:?}" "${PIXELSHIFT_CLIENT_SECRET:?}"
: "${PIXELSHIFT_INPUT_BUCKET:?}" "${PIXELSHIFT_INPUT_KEY:?}" "${PIXELSHIFT_OUTPUT_BUCKET:?}" "${PIXELSHIFT_OUTPUT_PREFIX:?}"

# An error answer ends the script with curl's exit code 22, after printing the API's JSON error (which says why).
api() {
  local body status
  body=$(curl --silent --show-error --fail-with-body "$@") || {
    status=$?
    echo "$body" >&2
    return "$status"
  }
  printf '%s' "$body"
}

# The key pair in the form body (client_secret_post); --data-urlencode encodes it as the form needs.
token=$(api "$PIXELSHIFT_URL/oauth/token" --data grant_type=client_credentials \
  --data-urlencode "client_id=$PIXELSHIFT_CLIENT_ID" --data-urlencode "client_secret=$PIXELSHIFT_CLIENT_SECRET" |
  jq -r .access_token)

batch=$(jq -n \
  --arg in "$PIXELSHIFT_INPUT_BUCKET" --arg key "$PIXELSHIFT_INPUT_KEY" \
  --arg out "$PIXELSHIFT_OUTPUT_BUCKET" --arg prefix "$PIXELSHIFT_OUTPUT_PREFIX" '{
  graphs: [{
    transformUnits: [{ type: "StorageSource", bucket: $in, key: $key }, { type: "AutoOrient" }],
    outputs: [
      { transformUnits: [
        { type: "Resize", width: 320 },
        { type: "ImageFormat", format: "webp", quality: 80 },
        { type: "StorageSink", bucket: $out, key: "\($prefix)/small.webp" } ] },
      { transformUnits: [
        { type: "Resize", width: 160, height: 160, fit: "cover" },
        { type: "ImageFormat", format: "png" },
        { type: "StorageSink", bucket: $out, key: "\($prefix)/thumb.png" } ] }
    ]
  }]
}')

# The Idempotency-Key makes a retried submission (after a timeout, say) the same batch, never a second one.
batch_id=$(api "$PIXELSHIFT_URL/v1/batches" \
  --header "Authorization: Bearer $token" \
  --header "Content-Type: application/json" \
  --header "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)" \
  --data "$batch" | jq -r .batchId)

# Polling is the simplest wait; `curl -N $PIXELSHIFT_URL/v1/batches/$batch_id/events` streams each change instead.
for _ in $(seq 1 240); do
  state=$(api "$PIXELSHIFT_URL/v1/batches/$batch_id" --header "Authorization: Bearer $token" | jq -r .state)
  [ "$state" != running ] && break
  sleep 0.5
done
jq -cn --arg batchId "$batch_id" --arg state "$state" '{batchId: $batchId, state: $state}'
