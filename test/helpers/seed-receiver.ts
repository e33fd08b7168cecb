import crypto from 'crypto';
import express from 'express';
import type { AddressInfo } from 'node:net';

/**
 * The receiver from Firecrawl's webhook docs (shared/seeds/000_…, "Node/Express"), its
 * verification lines as written there. Changes: the secret is a parameter instead of
 * process.env, it listens on a free loopback port, it records what it verified, and
 * `before` may answer first (to make a delivery fail once).
 */
export async function startSeedReceiver(
  webhookSecret: string,
  before?: (req: express.Request, res: express.Response) => boolean,
) {
  const verified: Array<{ event: unknown; headers: Record<string, unknown> }> = [];
  const answered: number[] = [];

  const app = express();

  // Use raw body parser for signature verification
  app.use('/webhook/firecrawl', express.raw({ type: 'application/json' }));

  app.post('/webhook/firecrawl', (req, res) => {
    res.on('finish', () => answered.push(res.statusCode));
    if (before?.(req, res)) return;
    const signature = req.get('X-Firecrawl-Signature');

    if (!signature || !webhookSecret) {
      return res.status(401).send('Unauthorized');
    }

    // Extract hash from signature header
    const [algorithm, hash] = signature.split('=');
    if (algorithm !== 'sha256') {
      return res.status(401).send('Invalid signature algorithm');
    }

    // Compute expected signature
    const expectedSignature = crypto
      .createHmac('sha256', webhookSecret)
      .update(req.body)
      .digest('hex');

    // Verify signature using timing-safe comparison
    if (!crypto.timingSafeEqual(Buffer.from(hash!, 'hex'), Buffer.from(expectedSignature, 'hex'))) {
      return res.status(401).send('Invalid signature');
    }

    // Parse and process verified webhook
    const event = JSON.parse(req.body);
    verified.push({ event, headers: req.headers });

    res.status(200).send('ok');
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook/firecrawl`,
    verified,
    answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
