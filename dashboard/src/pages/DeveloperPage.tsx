/** Developer: the account id, copy-paste examples for curl and the SDK, links to Swagger UI and the OpenAPI document. */
import { CopyButton, ErrorMessage, Loading, Mono, Page } from '../components';
import { useAccount } from '../queries';
import { Link } from '../router';

export function DeveloperPage() {
  const account = useAccount();
  const origin = window.location.origin;
  const curl = `# 1. A token for your key pair (API keys page)
TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \\
  -d grant_type=client_credentials ${origin}/oauth/token | jq -r .access_token)

# 2. A batch of one graph: resize a photo to a 320 px WebP
curl -s -X POST ${origin}/v1/batches \\
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
  -H "Idempotency-Key: $(uuidgen)" \\
  -d '{"graphs":[{"transformUnits":[
        {"type":"StorageSource","bucket":"uploads","key":"cat.jpg"},
        {"type":"Resize","width":320},
        {"type":"ImageFormat","format":"webp"},
        {"type":"StorageSink","bucket":"thumbnails","key":"cat.webp"}]}]}'`;
  const sdk = `import { createClient, source } from '@pixelshift/client';

const client = createClient({
  baseUrl: '${origin}',
  clientId: process.env.CLIENT_ID!,
  clientSecret: process.env.CLIENT_SECRET!,
});

const graph = source('uploads', 'cat.jpg')
  .resize({ width: 320 })
  .format('webp')
  .sink('thumbnails', 'cat.webp');

const { batchId } = await client.batches.submit([graph]);
const status = await client.batches.wait(batchId);
console.log(status.state, status.counts);`;

  return (
    <Page title="Developer">
      <dl className="figures">
        <div>
          <dt>Account id</dt>
          <dd>
            {account.isPending ? (
              <Loading what="the account" />
            ) : account.error ? (
              <ErrorMessage error={account.error} />
            ) : (
              <Mono>{account.data.accountId}</Mono>
            )}
          </dd>
        </div>
      </dl>
      <p>
        You need a key pair: generate one on the <Link to="/keys">API keys</Link> page and set{' '}
        <code>CLIENT_ID</code> and <code>CLIENT_SECRET</code>.
      </p>
      <h2>curl</h2>
      <div className="code-block">
        <pre tabIndex={0} role="region" aria-label="curl example">
          <code>{curl}</code>
        </pre>
        <CopyButton text={curl} label="Copy the curl example" />
      </div>
      <h2>TypeScript SDK</h2>
      <div className="code-block">
        <pre tabIndex={0} role="region" aria-label="SDK example">
          <code>{sdk}</code>
        </pre>
        <CopyButton text={sdk} label="Copy the SDK example" />
      </div>
      <h2>Reference</h2>
      <ul>
        <li>
          <a href="/swagger/">Swagger UI</a>: every endpoint, try them out
        </li>
        <li>
          <a href="/swagger/v1/swagger.json">OpenAPI document</a> (OpenAPI 3.1;{' '}
          <a href="/swagger/v1/swagger-3.0.json">3.0 version</a>)
        </li>
      </ul>
    </Page>
  );
}
