import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shared fixture images live beside the repository, never copied into it. */
export const fixturesDir = path.resolve(
  process.env.PIXELSHIFT_FIXTURES ??
    path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images'),
);

/** HEIC fixtures made for this repository (with their own MANIFEST.tsv: source and licence of each). */
export const heicFixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/heic');

/** A real file with IPTC-IIM from a public test suite (its MANIFEST.tsv gives source and licence). */
export const iptcFixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/iptc');

export interface FixtureEntry {
  file: string;
  bytes: number;
  format: string;
  width: number | undefined;
  height: number | undefined;
  exercises: string;
}

/** Reads MANIFEST.tsv so tests cover every fixture, including ones added later. */
export function readManifest(dir = fixturesDir): FixtureEntry[] {
  const lines = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split('\t');
  const column = (name: string) => header.indexOf(name);
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    const num = (name: string) => (cells[column(name)] ? Number(cells[column(name)]) : undefined);
    return {
      file: cells[column('file')]!,
      bytes: Number(cells[column('bytes')]),
      format: cells[column('format')] ?? '',
      width: num('width'),
      height: num('height'),
      exercises: cells[column('exercises')] ?? '',
    };
  });
}

export function fixturePath(file: string): string {
  return path.join(fixturesDir, file);
}

export function heicFixturePath(file: string): string {
  return path.join(heicFixturesDir, file);
}

export function iptcFixturePath(file: string): string {
  return path.join(iptcFixturesDir, file);
}
