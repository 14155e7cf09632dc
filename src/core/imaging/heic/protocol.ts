/** Messages between the HEIC decoder pool and its worker threads. */

export interface DecodeRequest {
  /** The HEIC file (transferred to the thread). */
  data: Uint8Array;
  /** Top-level image to decode; the primary image when absent. */
  page: number | undefined;
  /** The pixel limit, checked again on the image the decoder finds. */
  maxPixels: number;
  /** Attached to images whose nclx colour box names Display P3 primaries (they carry no ICC profile). */
  displayP3Icc: Uint8Array;
}

export type DecodeReply =
  | {
      ok: true;
      /** Uncompressed TIFF of the decoded image: upright, 8-bit RGB(A), with its ICC profile if any. */
      tiff: Uint8Array;
      width: number;
      height: number;
      hasAlpha: boolean;
      /** Bits per sample of the coded image (8, 10 or 12); the TIFF always holds 8. */
      bitDepth: number;
      /** Size of the thread's WebAssembly memory after the decode (it never shrinks). */
      heapBytes: number;
    }
  | {
      ok: false;
      kind: 'corrupt' | 'unsupported' | 'too_large' | 'memory';
      message: string;
      /** The WebAssembly module aborted and the thread cannot decode again. */
      broken: boolean;
      heapBytes: number;
    };

/** ITU-T H.273 ColourPrimaries code of SMPTE EG 432-1, the primaries of Display P3. */
export const displayP3Primaries = 12;
