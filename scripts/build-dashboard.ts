/** `npm run dashboard:build`: builds dashboard/ into dashboard/dist when stale (`-- --force`: always). */
import { ensureDashboardBuilt } from '../src/app/dashboard-assets.js';

const { built, outDir } = await ensureDashboardBuilt({
  force: process.argv.includes('--force'),
  log: console.log,
});
if (!built) console.log(`the dashboard in ${outDir} is up to date`);
