/**
 * Benchmark dispatcher: `npm run bench -- <name>` runs bench/<name>.ts. Benchmarks report ratios
 * measured in one run on one machine (docs/architecture.md §14); they are never timed assertions in tests.
 */
const benches: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  budget: () => import('./budget.js'),
  dashboard: () => import('./dashboard.js'),
  dbcalls: () => import('./dbcalls.js'),
  engine: () => import('./engine.js'),
  events: () => import('./events.js'),
  pipeline: () => import('./pipeline.js'),
  readpath: () => import('./readpath.js'),
  shapes: () => import('./shapes.js'),
  throttle: () => import('./throttle.js'),
};

const name = process.argv[2];
const load = name === undefined ? undefined : benches[name];
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
const bench = await load();
await bench.run();
