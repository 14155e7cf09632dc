/** Filter operations (docs/architecture.md §4): public vocabulary → sharp calls. */
import type { Sharp } from 'sharp';
import type { UnitOfType } from '../graph/index.js';

type FilterOp = UnitOfType<'Blur' | 'Sharpen' | 'Median'>;

/** sharp needs a sigma once any sharpen option is given; 1 is its documented typical value. */
const defaultSharpenSigma = 1;

export function applyFilter(pipeline: Sharp, op: FilterOp): void {
  switch (op.type) {
    case 'Blur':
      // Without a sigma sharp runs its fast 3×3 box blur.
      if (op.sigma === undefined) pipeline.blur();
      else pipeline.blur(op.sigma);
      return;
    case 'Sharpen':
      if (op.sigma === undefined && op.flat === undefined && op.jagged === undefined) pipeline.sharpen();
      else
        pipeline.sharpen({
          sigma: op.sigma ?? defaultSharpenSigma,
          ...(op.flat === undefined ? {} : { m1: op.flat }),
          ...(op.jagged === undefined ? {} : { m2: op.jagged }),
        });
      return;
    case 'Median':
      pipeline.median(op.size ?? 3);
      return;
  }
}
