import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodeFormEncodedKey,
  MAX_RECORDS_PER_BODY,
  parseS3EventBody,
  type S3EventBody,
} from '../../../src/core/triggers/s3-event-records.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
}

function events(body: S3EventBody) {
  assert.equal(body.kind, 'events', JSON.stringify(body));
  return body;
}

function refused(body: S3EventBody) {
  assert.equal(body.kind, 'invalid', JSON.stringify(body));
  return body;
}

/** An AWS record with the given object key (as S3 would encode it) and overrides. */
function record(key: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    eventTime: '2026-03-02T10:15:30.123Z',
    eventName: 'ObjectCreated:Put',
    s3: {
      s3SchemaVersion: '1.0',
      bucket: { name: 'photos', arn: 'arn:aws:s3:::photos' },
      object: { key, size: 10, eTag: 'abc123', sequencer: '00AA' },
    },
    ...overrides,
  };
}

describe('parseS3EventBody: the shapes senders use', () => {
  it('when AWS sends a 2.1 record, then the key is form-decoded and every field is kept', () => {
    const body = events(parseS3EventBody(fixture('aws-records-2.1.json'), 'default'));
    assert.equal(body.ignored, 0);
    assert.deepEqual(body.events, [
      {
        connection: 'default',
        bucket: 'photos',
        key: 'uploads/summer holiday/beach + sun.jpg',
        eventName: 'ObjectCreated:Put',
        size: 48213,
        etag: '9b2cf535f27731c974343645a3985328',
        sequencer: '0066A1B2C3D4E5F601',
        eventTime: '2026-03-02T10:15:30.123Z',
      },
    ]);
  });

  it('when AWS sends 2.2 records, then unicode and %2F keys decode and the ObjectRemoved record is ignored and counted', () => {
    const body = events(parseS3EventBody(fixture('aws-records-2.2.json'), 'default'));
    assert.equal(body.ignored, 1);
    assert.equal(body.events.length, 1);
    assert.equal(body.events[0]!.key, 'uploads/写真/café/menu.png');
    assert.equal(body.events[0]!.eventName, 'ObjectCreated:CompleteMultipartUpload');
    assert.equal(body.events[0]!.etag, 'd41d8cd98f00b204e9800998ecf8427e-14');
    assert.equal(body.events[0]!.versionId, '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
  });

  it('when AWS sends 2.3 records, then a copy counts as created and a lifecycle transition is ignored', () => {
    const body = events(parseS3EventBody(fixture('aws-records-2.3.json'), 'archive'));
    assert.equal(body.ignored, 1);
    assert.deepEqual(
      body.events.map((event) => [event.connection, event.bucket, event.key, event.eventName]),
      [['archive', 'shared-media', 'a+b c.webp', 'ObjectCreated:Copy']],
    );
  });

  it('when MinIO sends its webhook body, then the s3: prefix is dropped and its content type and metadata are kept', () => {
    const body = events(parseS3EventBody(fixture('minio-webhook.json'), 'minio'));
    assert.deepEqual(body.events, [
      {
        connection: 'minio',
        bucket: 'photos',
        key: 'inbox/team photo (1).jpeg',
        eventName: 'ObjectCreated:Put',
        size: 20480,
        etag: 'e2fc714c4727ee9395f324cd2e7f331f',
        sequencer: '1821D6C0A5E6B9F2',
        contentType: 'image/jpeg',
        // Its user metadata carries no generated mark: the ingest need not HEAD it to know.
        generated: false,
        eventTime: '2026-03-04T12:00:00.000Z',
      },
    ]);
  });

  it('when a MinIO record reports pixelshift’s generated mark in its user metadata, then the event says so, whatever the case of the name', () => {
    const withMetadata = (userMetadata: Record<string, string>) =>
      record('thumbs/a.webp', {
        s3: {
          bucket: { name: 'photos' },
          object: { key: 'thumbs/a.webp', size: 10, contentType: 'image/webp', userMetadata },
        },
      });
    const body = events(
      parseS3EventBody(
        {
          Records: [
            withMetadata({ 'content-type': 'image/webp', 'X-Amz-Meta-Pixelshift-Generated': 'true' }),
            withMetadata({ 'x-amz-meta-pixelshift-generated': 'TRUE' }),
            withMetadata({ 'X-Amz-Meta-Pixelshift-Generated': 'false' }),
            withMetadata({}),
            withMetadata(
              JSON.parse(
                '{"__proto__": "x", "constructor": "y", "X-Amz-Meta-Pixelshift-Generated": "true"}',
              ) as Record<string, string>,
            ),
          ],
        },
        'minio',
      ),
    );
    assert.deepEqual(
      body.events.map((event) => event.generated),
      [true, true, false, false, true],
    );
  });

  it('when an AWS record reports no user metadata, then whether it is generated is left to a HEAD', () => {
    const body = events(parseS3EventBody({ Records: [record('a.jpg')] }, 'default'));
    assert.equal(body.events[0]!.generated, undefined);
  });

  it('when EventBridge sends Object Created, then its key is taken as written (a + stays a +)', () => {
    const body = events(parseS3EventBody(fixture('eventbridge-object-created.json'), 'default'));
    assert.deepEqual(body.events, [
      {
        connection: 'default',
        bucket: 'photos',
        key: 'uploads/plain key+with plus.jpg',
        eventName: 'ObjectCreated:PutObject',
        size: 5120,
        etag: '8277e0910d750195b448797616e091ad',
        sequencer: '0066A1B2C3D4E5FB00',
        eventTime: '2026-03-05T09:45:12Z',
        versionId: 'Xq9zEXAMPLEversion',
      },
    ]);
  });

  it('when EventBridge sends another detail type, then it is ignored and counted', () => {
    const deleted = {
      ...(fixture('eventbridge-object-created.json') as object),
      'detail-type': 'Object Deleted',
    };
    assert.deepEqual(parseS3EventBody(deleted, 'default'), { kind: 'events', events: [], ignored: 1 });
  });

  it('when S3 sends its TestEvent, then the body is a test and nothing else', () => {
    assert.deepEqual(parseS3EventBody(fixture('s3-test-event.json'), 'default'), { kind: 'test' });
  });

  it('when an ETag comes quoted, then the quotes are dropped', () => {
    const body = events(parseS3EventBody({ Records: [record('a.jpg', {})] }, 'default'));
    assert.equal(body.events[0]!.etag, 'abc123');
    const quoted = record('a.jpg');
    (quoted.s3 as { object: Record<string, unknown> }).object.eTag = '"abc123"';
    assert.equal(events(parseS3EventBody({ Records: [quoted] }, 'default')).events[0]!.etag, 'abc123');
  });

  it('when Records is empty, then there are no events and nothing is wrong', () => {
    assert.deepEqual(parseS3EventBody({ Records: [] }, 'default'), {
      kind: 'events',
      events: [],
      ignored: 0,
    });
  });
});

describe('decodeFormEncodedKey', () => {
  for (const [encoded, decoded] of [
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['dir%2Fsub%2Ffile.jpg', 'dir/sub/file.jpg'],
    ['%F0%9F%90%88.png', '🐈.png'],
    ['100%25+done', '100% done'],
  ] as const) {
    it(`when the key is ${encoded}, then it decodes to ${decoded}`, () => {
      assert.equal(decodeFormEncodedKey(encoded), decoded);
    });
  }

  for (const malformed of ['%', '50%', '%zz', '%C3', '%FF%FE']) {
    it(`when the escapes are malformed (${malformed}), then there is no key instead of a crash`, () => {
      assert.equal(decodeFormEncodedKey(malformed), undefined);
    });
  }
});

describe('parseS3EventBody: hostile and malformed bodies', () => {
  const cases: [string, unknown, string][] = [
    ['null', null, ''],
    ['an array', [record('a.jpg')], ''],
    ['a string', 'Records', ''],
    ['a number', 42, ''],
    ['an object of no known shape', { hello: 'world' }, ''],
    ['Records that is an object', { Records: { 0: record('a.jpg') } }, '/Records'],
    ['a record that is null', { Records: [null] }, '/Records/0'],
    ['a record without s3', { Records: [record('a.jpg', { s3: undefined })] }, '/Records/0/s3'],
    [
      'a record whose key is a number',
      { Records: [record('a.jpg', { s3: { bucket: { name: 'photos' }, object: { key: 7 } } })] },
      '/Records/0/s3/object/key',
    ],
    ['a malformed percent escape', { Records: [record('bad%zzkey.jpg')] }, '/Records/0/s3/object/key'],
    ['an empty key', { Records: [record('')] }, '/Records/0/s3/object/key'],
    ['a key over 1024 bytes', { Records: [record('%C3%A9'.repeat(600))] }, '/Records/0/s3/object/key'],
    ['a control character in the key', { Records: [record('a%00b.jpg')] }, '/Records/0/s3/object/key'],
    [
      'a negative size',
      {
        Records: [
          record('a.jpg', { s3: { bucket: { name: 'photos' }, object: { key: 'a.jpg', size: -1 } } }),
        ],
      },
      '/Records/0/s3/object/size',
    ],
    [
      'a size as text',
      {
        Records: [
          record('a.jpg', { s3: { bucket: { name: 'photos' }, object: { key: 'a.jpg', size: '10' } } }),
        ],
      },
      '/Records/0/s3/object/size',
    ],
    [
      'a bucket name with a slash',
      { Records: [record('a.jpg', { s3: { bucket: { name: 'a/b' }, object: { key: 'a.jpg' } } })] },
      '/Records/0/s3/bucket/name',
    ],
    [
      'a sequencer with slashes',
      {
        Records: [
          record('a.jpg', {
            s3: { bucket: { name: 'photos' }, object: { key: 'a.jpg', sequencer: '../../x' } },
          }),
        ],
      },
      '/Records/0/s3/object/sequencer',
    ],
    [
      'an event time that is no time',
      { Records: [record('a.jpg', { eventTime: 'yesterday' })] },
      '/Records/0/eventTime',
    ],
    ['event version 1.0', { Records: [record('a.jpg', { eventVersion: '1.0' })] }, '/Records/0/eventVersion'],
    ['event version 3.0', { Records: [record('a.jpg', { eventVersion: '3.0' })] }, '/Records/0/eventVersion'],
    ['no event name', { Records: [record('a.jpg', { eventName: undefined })] }, '/Records/0/eventName'],
    [
      'EventBridge from another source',
      { ...(fixture('eventbridge-object-created.json') as object), source: 'aws.ec2' },
      '/source',
    ],
    ['EventBridge without detail', { 'detail-type': 'Object Created', source: 'aws.s3' }, '/detail'],
    ...(
      [
        ['user metadata that is an array', [['X-Amz-Meta-Pixelshift-Generated', 'true']]],
        ['user metadata that is a string', 'pixelshift-generated=true'],
        ['user metadata with a number for a value', { 'X-Amz-Meta-Pixelshift-Generated': 1 }],
        [
          'user metadata whose __proto__ is an object',
          JSON.parse('{"__proto__": {"pixelshift-generated": "true"}}') as unknown,
        ],
        [
          'user metadata of more than 256 names',
          Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`X-Amz-Meta-N${i}`, 'v'])),
        ],
        ['user metadata with a value over 8192 characters', { 'X-Amz-Meta-Note': 'x'.repeat(8193) }],
        ['user metadata with a name over 8192 characters', { ['X'.repeat(8193)]: 'v' }],
      ] as [string, unknown][]
    ).map(([name, userMetadata]): [string, unknown, string] => [
      name,
      {
        Records: [
          record('a.jpg', {
            s3: { bucket: { name: 'photos' }, object: { key: 'a.jpg', size: 10, userMetadata } },
          }),
        ],
      },
      '/Records/0/s3/object/userMetadata',
    ]),
  ];
  for (const [name, body, path] of cases) {
    it(`when the body has ${name}, then it is invalid_event with an issue at "${path}"`, () => {
      const result = refused(parseS3EventBody(body, 'default'));
      assert.equal(result.code, 'invalid_event');
      assert.ok(
        result.issues.some((issue) => issue.path === path),
        `issues: ${JSON.stringify(result.issues)}`,
      );
    });
  }

  it('when event version 3.0 is sent, then the issue says the version is unsupported', () => {
    const result = refused(
      parseS3EventBody({ Records: [record('a.jpg', { eventVersion: '3.0' })] }, 'default'),
    );
    assert.equal(result.issues[0]!.code, 'unsupported_event_version');
  });

  it('when one record of several is broken, then the whole body is refused (nothing half-accepted)', () => {
    const result = refused(parseS3EventBody({ Records: [record('a.jpg'), record('%')] }, 'default'));
    assert.deepEqual(
      result.issues.map((issue) => issue.path),
      ['/Records/1/s3/object/key'],
    );
  });

  it('when a body has more records than the cap, then it is too_many_records', () => {
    const many = Array.from({ length: MAX_RECORDS_PER_BODY + 1 }, () => record('a.jpg'));
    const result = refused(parseS3EventBody({ Records: many }, 'default'));
    assert.equal(result.code, 'too_many_records');
  });

  it('when exactly the cap of records arrives, then all are parsed', () => {
    const many = Array.from({ length: MAX_RECORDS_PER_BODY }, (_, index) => record(`k${index}.jpg`));
    assert.equal(events(parseS3EventBody({ Records: many }, 'default')).events.length, MAX_RECORDS_PER_BODY);
  });

  it('when a thousand records are all broken, then the answer lists a bounded number of issues', () => {
    const many = Array.from({ length: MAX_RECORDS_PER_BODY }, () => null);
    assert.ok(refused(parseS3EventBody({ Records: many }, 'default')).issues.length <= 50);
  });

  it('when fields are nested very deeply, then the parser does not descend and refuses the shape', () => {
    let deep: unknown = {};
    for (let depth = 0; depth < 10_000; depth += 1) deep = { s3: deep };
    const result = refused(parseS3EventBody({ Records: [deep] }, 'default'));
    assert.equal(result.code, 'invalid_event');
  });

  it('when field names try prototype tricks, then they are just missing fields', () => {
    const body = JSON.parse(
      '{"Records":[{"__proto__":{"eventName":"ObjectCreated:Put"},"eventVersion":"2.1"}]}',
    ) as unknown;
    const result = refused(parseS3EventBody(body, 'default'));
    assert.ok(result.issues.some((issue) => issue.path === '/Records/0/eventName'));
  });
});
