import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { fixturePath, heicFixturePath, iptcFixturePath } from '../support/fixtures.js';

const run = promisify(execFile);

/** Runs the real CLI in a child process; resolves with its exit code and parsed JSON output. */
async function pixelshift(...args: string[]): Promise<{ code: number; json: unknown }> {
  return pixelshiftWith({}, ...args);
}

async function pixelshiftWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; json: unknown }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/app/main.ts', ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, json: JSON.parse(stdout) as unknown };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, json: failed.stdout ? (JSON.parse(failed.stdout) as unknown) : undefined };
  }
}

describe('pixelshift graph validate / run', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-cli-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'photos', 'in'), { recursive: true });
  copyFileSync(fixturePath('jpeg-baseline-photo-2725x2225.jpg'), path.join(root, 'photos', 'in', 'cat.jpg'));
  copyFileSync(fixturePath('bad-truncated.jpg'), path.join(root, 'photos', 'in', 'broken.jpg'));
  copyFileSync(heicFixturePath('heic-grid-800x533.heic'), path.join(root, 'photos', 'in', 'phone.heic'));
  copyFileSync(iptcFixturePath('exiftool-ExifTool.jpg'), path.join(root, 'photos', 'in', 'wire.jpg'));

  const graphFile = (name: string, graph: unknown) => {
    const file = path.join(root, name);
    writeFileSync(file, typeof graph === 'string' ? graph : JSON.stringify(graph));
    return file;
  };
  const catGraph = (source = 'in/cat.jpg') => ({
    transformUnits: [
      { type: 'StorageSource', bucket: 'photos', key: source },
      { type: 'Resize', width: 400, fit: 'inside' },
    ],
    outputs: [
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'photos', key: 'out/cat.webp' },
        ],
      },
      {
        transformUnits: [
          { type: 'ImageFormat', format: 'png' },
          { type: 'StorageSink', bucket: 'thumbs', key: 'cat.png' },
        ],
      },
    ],
  });

  test('when a valid graph is validated, then it prints ok and exits 0', async () => {
    assert.deepEqual(await pixelshift('graph', 'validate', graphFile('ok.json', catGraph())), {
      code: 0,
      json: { ok: true },
    });
  });

  test('when an invalid graph is validated, then every issue is printed and the exit code is 1', async () => {
    const result = await pixelshift(
      'graph',
      'validate',
      graphFile('bad.json', { transformUnits: [{ type: 'Resize' }] }),
    );
    assert.equal(result.code, 1);
    const codes = (result.json as { issues: { code: string }[] }).issues.map((issue) => issue.code);
    assert.deepEqual(codes, ['missing_source', 'missing_field', 'missing_format']);
  });

  test('when the file is not JSON, then invalid_json is printed and the exit code is 1', async () => {
    const result = await pixelshift('graph', 'validate', graphFile('broken.json', '{"transformUnits": ['));
    assert.equal(result.code, 1);
    assert.equal((result.json as { issues: { code: string }[] }).issues[0]!.code, 'invalid_json');
  });

  test('when a graph runs against a local root, then the per-sink results are printed and the files exist', async () => {
    const result = await pixelshift('graph', 'run', graphFile('run.json', catGraph()), '--local-root', root);
    assert.equal(result.code, 0);
    const { sinks } = result.json as {
      sinks: { bucket: string; key: string; format: string; width: number }[];
    };
    assert.deepEqual(
      sinks.map((s) => [s.bucket, s.key, s.format, s.width]),
      [
        ['photos', 'out/cat.webp', 'webp', 400],
        ['thumbs', 'cat.png', 'png', 400],
      ],
    );
    const meta = await sharp(path.join(root, 'thumbs', 'cat.png')).metadata();
    assert.deepEqual([meta.format, meta.width], ['png', 400]);
  });

  test('when the source is broken, then the classified error is printed and the exit code is 1', async () => {
    const result = await pixelshift(
      'graph',
      'run',
      graphFile('broken-run.json', catGraph('in/broken.jpg')),
      '--local-root',
      root,
    );
    assert.equal(result.code, 1);
    assert.equal((result.json as { error: { code: string } }).error.code, 'corrupt_input');
  });

  test('when the source is a HEIC photo, then it is decoded and every sink is written', async () => {
    const result = await pixelshift(
      'graph',
      'run',
      graphFile('heic.json', catGraph('in/phone.heic')),
      '--local-root',
      root,
    );
    assert.equal(result.code, 0, JSON.stringify(result.json));
    const meta = await sharp(path.join(root, 'photos', 'out', 'cat.webp')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 400, 267]);
  });

  test('when a photo with IPTC runs through several stages, then keepCopyright keeps only the credit and keepAll all of it', async () => {
    const output = (metadata: string, key: string) => ({
      transformUnits: [
        { type: 'ImageFormat', format: 'jpeg', metadata },
        { type: 'StorageSink', bucket: 'photos', key },
      ],
    });
    const graph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/wire.jpg' },
        { type: 'Resize', width: 6 },
        { type: 'Grayscale' },
        { type: 'Resize', width: 4 },
      ],
      outputs: [output('keepCopyright', 'out/credit.jpg'), output('keepAll', 'out/all.jpg')],
    };
    const result = await pixelshift('graph', 'run', graphFile('iptc.json', graph), '--local-root', root);
    assert.equal(result.code, 0, JSON.stringify(result.json));
    const iptcOf = async (key: string) =>
      (await sharp(path.join(root, 'photos', key)).metadata()).iptc?.toString('latin1') ?? '';
    const credit = await iptcOf('out/credit.jpg');
    assert.match(credit, /Phil Harvey/);
    assert.match(credit, /Copyright 2004 Phil Harvey/);
    assert.doesNotMatch(credit, /Kingston/);
    assert.match(await iptcOf('out/all.jpg'), /Kingston/);
  });

  test('when PIXELSHIFT_HEIC=off, then a HEIC source is refused as unsupported_input', async () => {
    const result = await pixelshiftWith(
      { PIXELSHIFT_HEIC: 'off' },
      'graph',
      'run',
      graphFile('heic-off.json', catGraph('in/phone.heic')),
      '--local-root',
      root,
    );
    assert.equal(result.code, 1);
    assert.equal((result.json as { error: { code: string } }).error.code, 'unsupported_input');
  });
});
