import type { Rgba } from './colours.js';
import type { OverlaySource } from './ops-composite.js';

/** What an operation may need to know beyond its own fields, while a stage's pipeline is being built. */
export interface OpContext {
  /**
   * Size of one page where the operation stands, or undefined once an earlier operation of the stage has
   * changed it in a way only sharp knows (the compiler keeps size-dependent operations out of that case).
   */
  size: { width: number; height: number } | undefined;
  /** Frames stacked in the pipeline (animations are one tall image to sharp); 1 for stills. */
  pages: number;
  /** The source's EXIF orientation, for an AutoOrient that runs on raw pixels. */
  orientation: number;
  /** The pipeline decodes the downloaded source (so sharp can orient while decoding). */
  readsSource: boolean;
  /** JPEG outputs: translucent fill colours are blended onto this colour up front (see encode.ts). */
  opaqueOnto: Rgba | undefined;
  overlays: OverlaySource;
  maxInputPixels: number;
}
