// Receives pixelshift's signed webhooks with Express: each delivery is verified before it is trusted, and
// printed as one JSON line. PIXELSHIFT_WEBHOOK_SECRET is the whsec_… secret of the subscription, or, for
// batch callbackUrls, the account's callback secret (GET /v1/webhooks/callback-secret).
import express from 'express';
import { PixelshiftWebhookError, verifyWebhook } from '@pixelshift/client';

const secret = process.env.PIXELSHIFT_WEBHOOK_SECRET;
if (!secret) throw new Error('PIXELSHIFT_WEBHOOK_SECRET is not set');

const app = express();
// The signature covers the exact bytes sent: read the body raw, never re-serialised JSON.
app.post('/pixelshift-events', express.raw({ type: '*/*' }), (req, res) => {
  let event;
  try {
    event = verifyWebhook(req.body ?? '', req.headers, secret);
  } catch (error) {
    if (!(error instanceof PixelshiftWebhookError)) throw error;
    console.error(`refused a delivery: ${error.message}`);
    res.sendStatus(400);
    return;
  }
  if (event.type === 'batch.completed') {
    console.log(JSON.stringify({ type: event.type, batchId: event.data.batchId, state: event.data.state }));
  } else {
    const keys = event.data.sinks.map((sink) => sink.key);
    console.log(JSON.stringify({ type: event.type, workflowId: event.data.workflowId, keys }));
  }
  // Answer quickly; slow work belongs in a queue. Redeliveries carry the same webhook-id: deduplicate on it.
  res.sendStatus(204);
});

const server = app.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
