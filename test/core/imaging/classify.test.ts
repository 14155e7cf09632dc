/** Error classification: one class per failure, one message form, pinned. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ClassifiedError } from '../../../src/core/errors.js';
import { classifyPipelineError, classifySourceError, isHevcHeif } from '../../../src/core/imaging/index.js';
import { fixturePath } from '../../support/fixtures.js';

const source = { unit: '/transformUnits/0', type: 'StorageSource' };
const refs = {
  source,
  ops: [
    { unit: '/transformUnits/1', type: 'Rotate' },
    { unit: '/transformUnits/2', type: 'Crop' },
  ],
  format: { unit: '/transformUnits/3', type: 'ImageFormat', format: 'webp' },
  maxInputPixels: 100,
  readsSource: true,
};

describe('classification', () => {
  it('when the bytes are HEIC, then the sniffer says so; AVIF, JPEG and short input are not HEIC', () => {
    assert.equal(isHevcHeif(readFileSync(fixturePath('heif-hevc-4032x3024-irot-90cw.heic'))), true);
    assert.equal(isHevcHeif(readFileSync(fixturePath('avif-grid-4096x800.avif'))), false);
    assert.equal(isHevcHeif(readFileSync(fixturePath('jpeg-baseline-photo-2725x2225.jpg'))), false);
    assert.equal(isHevcHeif(Buffer.from('....ftyp')), false);
  });

  const sourceCases: [string, string, string][] = [
    [
      'Input Buffer is empty',
      'unsupported_input',
      'The source is empty (0 bytes), which is not a supported image format',
    ],
    [
      'Input buffer contains unsupported image format',
      'unsupported_input',
      'The source is not a supported image format; send JPEG, PNG, WebP, AVIF, GIF, TIFF or SVG',
    ],
    [
      'source: bad seek to 1003110\nheif: Error while loading plugin: Support for this compression format has not been built in: HEVC',
      'unsupported_input',
      'The source is HEIC (HEVC-coded), which this server cannot decode; convert it to JPEG, PNG, WebP or AVIF first',
    ],
    [
      'Input image exceeds pixel limit',
      'too_large',
      'Expected at most 100 pixels for the source but received more',
    ],
    [
      'Input buffer has corrupt header: VipsJpeg: premature end of JPEG image',
      'corrupt_input',
      'The source is a damaged image whose header cannot be read ("Input buffer has corrupt header: VipsJpeg: premature end of JPEG image")',
    ],
    [
      'VipsJpeg: premature end of JPEG image',
      'corrupt_input',
      'The source could not be decoded ("premature end of JPEG image")',
    ],
  ];
  for (const [libvips, code, message] of sourceCases) {
    it(`when sharp says "${libvips.split('\n')[0]}", then the source is ${code}`, () => {
      const error = classifySourceError(new Error(libvips), source, 100);
      assert.equal(error.code, code);
      assert.equal(error.message, `${message} (StorageSource at /transformUnits/0)`);
      assert.equal(error.unit, '/transformUnits/0');
      assert.ok(error.cause instanceof Error);
    });
  }

  it('when an operation is not possible on an animation, then the operation is named', () => {
    const error = classifyPipelineError(new Error('Rotate is not supported for multi-page images'), refs);
    assert.equal(error.code, 'unsupported_input');
    assert.equal(error.unit, '/transformUnits/1');
    assert.match(
      error.message,
      /^Rotate is not supported for animated or multi-page images.*\(Rotate at \/transformUnits\/1\)$/,
    );
  });

  it('when a crop leaves the image, then the Crop is an invalid_graph', () => {
    const error = classifyPipelineError(new Error('extract_area: bad extract area'), refs);
    assert.deepEqual([error.code, error.unit], ['invalid_graph', '/transformUnits/2']);
  });

  it('when the result is too large for the format, then the ImageFormat is named as too_large', () => {
    const error = classifyPipelineError(new Error('Processed image is too large for the WebP format'), refs);
    assert.deepEqual([error.code, error.unit], ['too_large', '/transformUnits/3']);
    assert.equal(
      error.message,
      'Expected an image within the webp size limit for the output but received a larger one (ImageFormat at /transformUnits/3)',
    );
  });

  it('when decoding the source fails inside a pipeline, then it is the source’s failure', () => {
    const error = classifyPipelineError(new Error('VipsJpeg: premature end of JPEG image'), refs);
    assert.deepEqual([error.code, error.unit], ['corrupt_input', '/transformUnits/0']);
  });

  it('when an unknown failure happens, then the first step is named without guessing a cause', () => {
    const error = classifyPipelineError(new Error('vips_something: strange\nmore'), {
      ...refs,
      readsSource: false,
    });
    assert.deepEqual([error.code, error.unit], ['unsupported_input', '/transformUnits/1']);
    assert.equal(
      error.message,
      'The image could not be processed ("vips_something: strange") (Rotate at /transformUnits/1)',
    );
  });

  it('when memory runs out, then it is transient and worth a retry', () => {
    assert.equal(classifyPipelineError(new Error('out of memory'), refs).code, 'transient');
  });

  it('when an error is already classified, then it is passed through unchanged', () => {
    const classified = new ClassifiedError('access_denied', 'no');
    assert.equal(classifyPipelineError(classified, refs), classified);
    assert.equal(classifySourceError(classified, source, 1), classified);
  });
});
