/**
 * `npm run build`: compiles src/ to dist/, copies the SQL migrations beside the compiled migrator, and
 * writes the prebuilt workflow bundle production workers load (no webpack work at worker start).
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { writeWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
await writeWorkflowBundle('dist/workflow-bundle.js');
console.log('built dist/ and dist/workflow-bundle.js');
