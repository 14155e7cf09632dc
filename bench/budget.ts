/**
 * How many encodes `ImageFormat.maxBytes` takes (src/core/imaging/budget.ts): for each photo fixture,
 * resized to 1200 px wide (AVIF, whose encodes are slow, 600 px), and each lossy format, the budget is set to a share of what the format's default
 * quality writes (90 %: a budget just missed; 60 % and 30 %: lower quality needed; 10 %: usually a smaller
 * size too). Reports the encodes per output (mean and the most), the quality chosen and the bytes used.
 * Counts, not times: they do not depend on the machine.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ImageFormat } from '../src/core/graph/index.js';
import { encodeWithinBudget, maxBudgetEncodes } from '../src/core/imaging/budget.js';
import { isClassifiedError } from '../src/core/errors.js';
import { fixturePath } from '../test/support/fixtures.js';
import { photoFixtures } from '../test/support/graphs.js';
import { describeMachine, printTable, round3, writeResult } from './lib.js';

const formats = ['jpeg', 'webp', 'avif'] as const;
const shares = [0.9, 0.6, 0.3, 0.1];
const widths = { jpeg: 1200, webp: 1200, avif: 600 } as const;
const ref = { unit: '/outputs/0/transformUnits/0', type: 'ImageFormat' };

interface Case {
  photo: string;
  format: (typeof formats)[number];
  share: number;
  maxBytes: number;
  encodes: number;
  quality?: number;
  bytes?: number;
  width?: number;
  error?: string;
}

export async function run(): Promise<void> {
  const cases: Case[] = [];
  for (const photo of photoFixtures) {
    const data = await readFile(fixturePath(photo));
    for (const format of formats) {
      const width = widths[format];
      const pipeline = () => sharp(data).rotate().resize({ width, withoutEnlargement: true });
      const full = (await pipeline().toFormat(format).toBuffer()).length;
      for (const share of shares) {
        const maxBytes = Math.max(1, Math.round(full * share));
        const spec = { type: 'ImageFormat', format, maxBytes } as ImageFormat & { maxBytes: number };
        const row: Case = { photo, format, share, maxBytes, encodes: 0 };
        try {
          const out = await encodeWithinBudget(pipeline(), spec, undefined, { source: {} }, ref);
          Object.assign(row, { encodes: out.encodes, quality: out.quality, bytes: out.data.length });
          row.width = out.info.width;
        } catch (error) {
          if (!isClassifiedError(error) || error.code !== 'budget_unreachable') throw error;
          row.error = error.code;
          row.encodes = Number(/of (\d+) encodes/.exec(error.message)?.[1] ?? maxBudgetEncodes);
        }
        cases.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  const mean = (rows: Case[]) => round3(rows.reduce((sum, row) => sum + row.encodes, 0) / rows.length);
  const summary = {
    outputs: cases.length,
    meanEncodes: mean(cases),
    maxEncodes: Math.max(...cases.map((row) => row.encodes)),
    unreachable: cases.filter((row) => row.error).length,
    perShare: Object.fromEntries(
      shares.map((share) => [share, mean(cases.filter((r) => r.share === share))]),
    ),
    perFormat: Object.fromEntries(
      formats.map((format) => [format, mean(cases.filter((r) => r.format === format))]),
    ),
  };
  const file = await writeResult('budget', { machine: describeMachine(), widths, summary, cases });
  printTable([
    ['photo', 'format', 'budget share', 'maxBytes', 'encodes', 'quality', 'bytes', 'width'],
    ...cases.map((row) => [
      row.photo,
      row.format,
      row.share,
      row.maxBytes,
      row.encodes,
      row.quality ?? '-',
      row.bytes ?? row.error ?? '-',
      row.width ?? '-',
    ]),
  ]);
  console.log(
    `encodes per output: mean ${summary.meanEncodes}, most ${summary.maxEncodes} (limit ${maxBudgetEncodes}); ` +
      `by budget share ${JSON.stringify(summary.perShare)}; by format ${JSON.stringify(summary.perFormat)}; ` +
      `${summary.unreachable} of ${summary.outputs} unreachable. Written to ${file}`,
  );
}
