"""Submit a batch and wait for it with the Python client openapi-python-client generates (see README.md;
test/clients/python.test.ts runs this against the real stack): a token with the client-credentials
grant, a batch with one branching graph, then polling until it ends. Prints the batch id and final
state as the last line, as JSON."""

import json
import os
import time

from pixelshift_client import AuthenticatedClient, Client
from pixelshift_client.api.auth import get_token
from pixelshift_client.api.batches import get_batch, submit_batch
from pixelshift_client.models import (
    TokenRequestGrantType,
    BatchRequest,
    BatchStartReportResponse,
    BatchStatus,
    TokenRequest,
    TokenResponse,
)

env = os.environ
base_url = env["PIXELSHIFT_URL"]

token = get_token.sync(
    client=Client(base_url=base_url),
    body=TokenRequest(
        grant_type=TokenRequestGrantType.CLIENT_CREDENTIALS,
        client_id=env["PIXELSHIFT_CLIENT_ID"],
        client_secret=env["PIXELSHIFT_CLIENT_SECRET"],
    ),
)
assert isinstance(token, TokenResponse), f"token: {token!r}"
client = AuthenticatedClient(base_url=base_url, token=token.access_token)

out_bucket, prefix = env["PIXELSHIFT_OUTPUT_BUCKET"], env["PIXELSHIFT_OUTPUT_PREFIX"]
request = BatchRequest.from_dict(
    {
        "graphs": [
            {
                "transformUnits": [
                    {"type": "StorageSource", "bucket": env["PIXELSHIFT_INPUT_BUCKET"], "key": env["PIXELSHIFT_INPUT_KEY"]},
                    {"type": "AutoOrient"},
                ],
                "outputs": [
                    {
                        "transformUnits": [
                            {"type": "Resize", "width": 320},
                            {"type": "ImageFormat", "format": "webp", "quality": 80},
                            {"type": "StorageSink", "bucket": out_bucket, "key": f"{prefix}/small.webp"},
                        ]
                    },
                    {
                        "transformUnits": [
                            {"type": "Resize", "width": 160, "height": 160, "fit": "cover"},
                            {"type": "ImageFormat", "format": "png"},
                            {"type": "StorageSink", "bucket": out_bucket, "key": f"{prefix}/thumb.png"},
                        ]
                    },
                ],
            }
        ]
    }
)
submitted = submit_batch.sync(client=client, body=request)
assert isinstance(submitted, BatchStartReportResponse), f"submit: {submitted!r}"
batch_id = submitted.batch_id

deadline = time.monotonic() + 120
while True:
    status = get_batch.sync(client=client, batch_id=batch_id)
    assert isinstance(status, BatchStatus), f"status: {status!r}"
    if status.state != "running":
        break
    assert time.monotonic() < deadline, f"batch {batch_id} still running"
    time.sleep(0.25)

print(json.dumps({"batchId": batch_id, "state": str(status.state)}))
